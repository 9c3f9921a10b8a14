import Activation
import AuthorityInterface
import AuthorityWire
import CMP
import CivilTime
import Foundation
import Keystore
import ParapheShared
import SwiftASN1
import X509

extension ActivationService {
    /// Changes a profile's password: opens it with `current` (a wrong one is refused and changes
    /// nothing), checks `new` against the same policy as at activation (with the certificate's name and
    /// email), writes the same key, certificate and chain under `new` at the same KDF cost, and replaces
    /// the file atomically.
    ///
    /// The old password no longer opens it.
    public func changePassword(profile: URL, current: Password, new: Password, confirmation: Password) async throws -> ActivationSummary {
        let contents = try Activator.openProfile(profile, password: current)
        let name = contents.friendlyName ?? contents.certificate.subject.commonNameText ?? ""
        let email =
            (try? contents.certificate.extensions.subjectAlternativeNames)?.compactMap { name -> String? in
                if case .rfc822Name(let address) = name { return address }
                return nil
            }.first ?? ""
        try passwordPolicy.validate(new, confirmation: confirmation, name: name, email: email)
        let rewritten = try PKCS12.write(contents, password: new.revealed, cost: cost)
        try AtomicFile.write(rewritten, to: profile, mode: 0o600)
        return try await logIn(profile: profile, password: new)
    }
}

extension DistinguishedName {
    /// The first common name, as text.
    var commonNameText: String? {
        for rdn in self {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let text = String(attribute.value) { return text }
            }
        }
        return nil
    }
}

extension ActivationService {
    /// Updates a profile near expiry: a new key of the same type, a new certificate for it from the
    /// authority (CMP `kur` signed with the current key — the current certificate is the proof), the
    /// profile rewritten atomically under the same password at the same cost, the previous file kept
    /// beside it as `NAME.YYYY-MM-DD.p12`.
    ///
    /// Returns the new summary and the backup.
    public func updateProfile(profile: URL, password: Password) async throws -> (summary: ActivationSummary, backup: URL) {
        let bytes = try Activator.readProfile(profile)
        let contents = try PKCS12.read(bytes, password: password.revealed)
        let roots = try Components(paths: paths, authority: authority).trustedRoots()
        guard let root = roots.first else { throw WorkstationError(.trustStore, "no trusted CA", suggesting: paths.commandOptions) }
        let newKey = try SigningKey.generate(contents.key.algorithm)
        let request = try CertReqMsg.signed(
            subject: try derBytes(contents.certificate.subject), publicKeyInfoDER: try derBytes(newKey.publicKey)
        ) { message in (try derBytes(newKey.algorithm.cmpAlgorithm), try newKey.sign(message)) }
        let result: CMPClientTransaction.EnrollmentResult
        do {
            result = try await CMPHolderTransaction.update(
                request, signer: try Self.signer(contents), trustedCA: try derBytes(root), random: { SystemRandomSource().bytes($0) },
                now: now()
            ) { try await self.authority.cmp($0) }
        } catch let error as CMPError {
            throw Self.holderRefusal(error)
        }
        let certificate = try Certificate(derEncoded: result.certificateDER)
        let backup = try Self.backupURL(for: profile, today: now())
        try AtomicFile.write(bytes, to: backup, mode: 0o600)
        let updated = PKCS12Contents(
            key: newKey, certificate: certificate, chain: contents.chain.isEmpty ? [root] : contents.chain,
            friendlyName: contents.friendlyName)
        try AtomicFile.write(try PKCS12.write(updated, password: password.revealed, cost: cost), to: profile, mode: 0o600)
        let pem = try CertificateFile.pem(certificate: certificate, chain: updated.chain)
        try AtomicFile.write(Array(pem.utf8), to: Self.certificateFile(of: profile), mode: 0o644)
        return (try await logIn(profile: profile, password: password), backup)
    }

    /// Asks the authority to revoke the profile's certificate (CMP `rr` signed with its key: holding the
    /// profile and its password is the proof).
    ///
    /// The authority publishes a new CRL.
    public func revokeProfile(profile: URL, password: Password, reasonCode: Int) async throws {
        let contents = try Activator.openProfile(profile, password: password)
        guard let root = try Components(paths: paths, authority: authority).trustedRoots().first else {
            throw WorkstationError(.trustStore, "no trusted CA", suggesting: paths.commandOptions)
        }
        do {
            try await CMPHolderTransaction.revoke(
                reasonCode: reasonCode, signer: try Self.signer(contents), trustedCA: try derBytes(root),
                random: { SystemRandomSource().bytes($0) }, now: now()
            ) { try await self.authority.cmp($0) }
        } catch let error as CMPError {
            throw Self.holderRefusal(error)
        }
    }

    static func signer(_ contents: PKCS12Contents) throws -> CMPHolderTransaction.Signer {
        let key = contents.key
        return CMPHolderTransaction.Signer(
            certificateDER: try derBytes(contents.certificate), algorithm: key.algorithm.cmpAlgorithm, sign: { try key.sign($0) })
    }

    /// A refusal of the authority, said as the rule it stands for when it can be.
    static func holderRefusal(_ error: CMPError) -> any Error {
        guard case .rejected(let status) = error.code else { return AuthorityConnectionError(.malformedResponse, error.reason) }
        if let refusal = WireError.refusal(cmpErrorDetails: error.errorDetails, authenticated: error.authenticated) { return refusal }
        let failure = status.failInfo ?? []
        if failure.contains(.certRevoked) { return ActivationError(.revoked) }
        if failure.contains(.systemFailure) { return AuthorityConnectionError(.serverFailure, status.statusString.first ?? "the authority failed") }
        return WorkstationError(.holderRefused, status.statusString.first ?? "the authority refused")
    }

    /// `NAME.YYYY-MM-DD.p12` beside the profile (`-2`, `-3`… if taken).
    static func backupURL(for profile: URL, today date: Date) throws -> URL {
        let today = UTCDateTime(date)
        let stem =
            profile.deletingPathExtension().lastPathComponent + "." + "\(today.pad(today.year, 4))-\(today.pad(today.month))-\(today.pad(today.day))"
        let folder = profile.deletingLastPathComponent()
        for suffix in [""] + (2...99).map({ "-\($0)" }) {
            let candidate = folder.appendingPathComponent(stem + suffix + ".p12")
            if !FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        throw WorkstationError(.profileWrite, "too many backups of \(profile.lastPathComponent) today")
    }
}

extension KeyAlgorithm {
    /// The CMP/CRMF signature algorithm of keys of this kind.
    var cmpAlgorithm: AlgorithmIdentifier {
        switch self {
        case .rsa2048, .rsa3072: .sha256WithRSAEncryption
        case .p256: .ecdsaWithSHA256
        }
    }
}
