import Crypto
import ParapheCore
import ParapheShared
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension ProfileSummary {
    /// Summarizes `certificate` held with a key of `keyAlgorithm`.
    public init(certificate: Certificate, keyAlgorithm: KeyAlgorithm) throws(KeystoreError) {
        let der = try PKCS12.certificateDER(certificate)
        var commonName = ""
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let value = String(attribute.value) { commonName = value }
            }
        }
        var email: String?
        if let names = try? certificate.extensions.subjectAlternativeNames {
            for name in names {
                if case .rfc822Name(let address) = name {
                    email = address
                    break
                }
            }
        }
        self.init(
            subject: certificate.subject.description,
            commonName: commonName,
            email: email,
            serialHex: Hex.colons(certificate.serialNumber.bytes),
            sha256Fingerprint: Hex.colons(SHA256.hash(data: der)),
            notBefore: certificate.notValidBefore,
            notAfter: certificate.notValidAfter,
            issuer: certificate.issuer.description,
            keyAlgorithm: keyAlgorithm
        )
    }
}

/// Opening ("logging in to") a signing profile.
public enum ProfileLogin {
    /// "Log in" to a profile: read the .p12, check the MAC with the password (wrong password -> KeystoreError.wrongPassword), decrypt the key, check the key matches the certificate, verify the certificate chains to one of `trustRoots` (swift-certificates Verifier, at `time`), return a summary.
    public static func login(
        p12: [UInt8],
        password: String,
        trustRoots: [Certificate],
        at time: Date = Date()
    ) async throws(KeystoreError) -> ProfileSummary {
        let contents = try PKCS12.read(p12, password: password)
        guard contents.key.matches(contents.certificate) else {
            throw .keyMismatch("the private key in the profile does not belong to its certificate")
        }
        try await verifyChain(contents.certificate, intermediates: contents.chain, trustRoots: trustRoots, at: time)
        return try ProfileSummary(certificate: contents.certificate, keyAlgorithm: contents.key.algorithm)
    }

    /// Validates `leaf` up to one of `trustRoots` (RFC 5280 policy at `time`); throws `chainInvalid` otherwise.
    public static func verifyChain(
        _ leaf: Certificate,
        intermediates: [Certificate],
        trustRoots: [Certificate],
        at time: Date
    ) async throws(KeystoreError) {
        guard !trustRoots.isEmpty else { throw .chainInvalid("no trusted root certificates were supplied") }
        var verifier = Verifier(rootCertificates: CertificateStore(trustRoots)) {
            RFC5280Policy(fixedExpiryValidationTime: time)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates))
        switch result {
        case .validCertificate:
            return
        case .couldNotValidate(let failures):
            let reason = failures.first.map { "\($0.policyFailureReason)" } ?? "no chain to a trusted root"
            throw .chainInvalid("the certificate does not chain to a trusted authority: \(reason)")
        }
    }
}
