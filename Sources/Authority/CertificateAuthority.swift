import Activation
import AuthorityInterface
import CivilTime
import Crypto
import Foundation
import ParapheShared
import SwiftASN1
import X509
import _CryptoExtras

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The embedded root CA: its key and self-signed certificate under `DATA/ca/`, and the leaf
/// certificates it issues (SPEC §4).
struct CertificateAuthority: Sendable {
    let privateKey: P256.Signing.PrivateKey
    let certificate: Certificate
    let certificateDER: [UInt8]

    /// The SHA-256 fingerprint of the CA certificate, as `openssl x509 -fingerprint -sha256` writes it.
    var fingerprint: String { Hex.colons(SHA256.hash(data: certificateDER)) }

    static let subject = "Paraphe Embedded Root CA"
    static let organization = "Paraphe"
    static let validityYears = 20
    static let leafValidityYears = 3
    /// Clock skew allowance: certificates are valid from 5 minutes before issue.
    static let backdating: TimeInterval = 5 * 60
    /// id-kp-documentSigning (RFC 9336).
    static let documentSigning: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 3, 36]

    /// The CA's key identifier (SHA-1 of its public key, RFC 5280 §4.2.1.2 method 1).
    var keyIdentifier: ArraySlice<UInt8> { SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier }

    /// Loads the CA from `directory` (`ca-key.pem`, `ca-cert.pem`), creating it first if it does not
    /// exist.
    ///
    /// Creation holds `directory/.lock`, so concurrent processes create it once. A damaged or
    /// mismatched file is an error, never silently replaced. Returns whether it was created.
    static func loadOrCreate(in directory: URL, at now: Date, random: any RandomSource) throws -> (CertificateAuthority, created: Bool) {
        try FileSystem.makeDirectory(directory, code: .certificateAuthority)
        let keyURL = directory.appendingPathComponent("ca-key.pem")
        let certificateURL = directory.appendingPathComponent("ca-cert.pem")
        return try FileSystem.withExclusiveLock(directory.appendingPathComponent(".lock"), code: .certificateAuthority) {
            let keyStatus = try FileSystem.status(keyURL, code: .certificateAuthority)
            let certificateStatus = try FileSystem.status(certificateURL, code: .certificateAuthority)
            switch (keyStatus, certificateStatus) {
            case (nil, nil):
                let key = P256.Signing.PrivateKey()
                try FileSystem.replace(keyURL, bytes: Array(key.pemRepresentation.utf8), mode: 0o600, code: .certificateAuthority)
                let authority = try makeRoot(key: key, at: now, random: random)
                try FileSystem.replace(certificateURL, bytes: Array(try pem(authority.certificate).utf8), mode: 0o644, code: .certificateAuthority)
                return (authority, true)
            case (.some, nil):
                // A crash between the two writes: keep the key, complete the certificate.
                let key = try loadKey(keyURL)
                let authority = try makeRoot(key: key, at: now, random: random)
                try FileSystem.replace(certificateURL, bytes: Array(try pem(authority.certificate).utf8), mode: 0o644, code: .certificateAuthority)
                return (authority, true)
            case (nil, .some):
                throw AuthorityError(.certificateAuthority, "the CA certificate exists but its key ca-key.pem is missing")
            case (.some, .some):
                return (try load(keyURL: keyURL, certificateURL: certificateURL), false)
            }
        }
    }

    private static func loadKey(_ url: URL) throws -> P256.Signing.PrivateKey {
        guard let status = try FileSystem.status(url, code: .certificateAuthority) else {
            throw AuthorityError(.certificateAuthority, "ca-key.pem is missing")
        }
        if status.mode & 0o077 != 0 {
            throw AuthorityError(
                .certificateAuthority, "ca-key.pem is accessible to other users (mode \(FileSystem.octal(status.mode))); it must be 0600")
        }
        let text = String(decoding: try FileSystem.read(url, code: .certificateAuthority), as: UTF8.self)
        do {
            return try P256.Signing.PrivateKey(pemRepresentation: text)
        } catch {
            throw AuthorityError(.certificateAuthority, "ca-key.pem is damaged (not a PKCS#8 P-256 private key)")
        }
    }

    private static func load(keyURL: URL, certificateURL: URL) throws -> CertificateAuthority {
        let key = try loadKey(keyURL)
        let text = String(decoding: try FileSystem.read(certificateURL, code: .certificateAuthority), as: UTF8.self)
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: text)
        } catch {
            throw AuthorityError(.certificateAuthority, "ca-cert.pem is damaged (not a PEM certificate)")
        }
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
            throw AuthorityError(.certificateAuthority, "ca-cert.pem does not belong to the key in ca-key.pem")
        }
        guard case .isCertificateAuthority = try? certificate.extensions.basicConstraints else {
            throw AuthorityError(.certificateAuthority, "ca-cert.pem is not a CA certificate")
        }
        return CertificateAuthority(privateKey: key, certificate: certificate, certificateDER: try der(certificate))
    }

    private static func makeRoot(key: P256.Signing.PrivateKey, at now: Date, random: any RandomSource) throws -> CertificateAuthority {
        let publicKey = Certificate.PublicKey(key.publicKey)
        let name = try DistinguishedName {
            OrganizationName(organization)
            CommonName(subject)
        }
        let identifier = SubjectKeyIdentifier(hash: publicKey)
        do {
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                identifier
                AuthorityKeyIdentifier(keyIdentifier: identifier.keyIdentifier)
            }
            let certificate = try Certificate(
                version: .v3,
                serialNumber: serialNumber(random),
                publicKey: publicKey,
                notValidBefore: now - backdating,
                notValidAfter: adding(years: validityYears, to: now),
                issuer: name,
                subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: Certificate.PrivateKey(key))
            return CertificateAuthority(privateKey: key, certificate: certificate, certificateDER: try der(certificate))
        } catch let error as AuthorityError {
            throw error
        } catch {
            throw AuthorityError(.certificateAuthority, "cannot build the CA certificate")
        }
    }

    /// Issues the subscriber's certificate: subject and SAN come from the registry, only the key from the CSR.
    func issue(publicKey: Certificate.PublicKey, name: String, email: String, at now: Date, random: any RandomSource) throws(AuthorityError) -> (
        der: [UInt8], serial: String
    ) {
        try signLeaf(
            publicKey: publicKey, subject: { try DistinguishedName { CommonName(name) } },
            validUntil: Self.adding(years: Self.leafValidityYears, to: now), at: now, random: random, what: "certificate"
        ) {
            try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, nonRepudiation: true))
                try ExtendedKeyUsage([.emailProtection, ExtendedKeyUsage.Usage(oid: Self.documentSigning)])
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: keyIdentifier)
                SubjectAlternativeNames([.rfc822Name(email)])
            }
        }
    }

    /// A certificate for one of the authority's own services, valid 90 days (re-issued at every start):
    /// the TLS server (`serverAuth`, the names as DNS names or IP addresses) or the CMP responder that
    /// signs answers to certificate holders (`cmcCA`, no names).
    func issueService(
        publicKey: Certificate.PublicKey, commonName: String, names: [String], usage: ExtendedKeyUsage.Usage, at now: Date, random: any RandomSource
    ) throws(AuthorityError) -> (der: [UInt8], serial: String) {
        let alternatives: [GeneralName] = names.map { name in
            if let address = IPAddressBytes(name) { return .ipAddress(ASN1OctetString(contentBytes: address.bytes[...])) }
            return .dnsName(name)
        }
        return try signLeaf(
            publicKey: publicKey,
            subject: {
                try DistinguishedName {
                    OrganizationName("Paraphe")
                    CommonName(commonName)
                }
            },
            validUntil: now + 90 * 86_400, at: now, random: random, what: "\(commonName) certificate"
        ) {
            try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([usage])
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: keyIdentifier)
                if !alternatives.isEmpty { SubjectAlternativeNames(alternatives) }
            }
        }
    }

    /// Signs an end-entity certificate with the CA key: a fresh serial, backdated start, ECDSA-SHA256.
    ///
    /// Returns its DER and hexadecimal serial; any failure is `certificateAuthority` ("cannot build the `what`").
    private func signLeaf(
        publicKey: Certificate.PublicKey, subject: () throws -> DistinguishedName, validUntil: Date, at now: Date,
        random: any RandomSource, what: String, extensions: () throws -> Certificate.Extensions
    ) throws(AuthorityError) -> (der: [UInt8], serial: String) {
        do {
            let serial = Self.serialNumber(random)
            let certificate = try Certificate(
                version: .v3,
                serialNumber: serial,
                publicKey: publicKey,
                notValidBefore: now - Self.backdating,
                notValidAfter: validUntil,
                issuer: certificate.subject,
                subject: try subject(),
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try extensions(),
                issuerPrivateKey: Certificate.PrivateKey(privateKey))
            return (try Self.der(certificate), Hex.uppercase(serial.bytes))
        } catch let error as AuthorityError {
            throw error
        } catch {
            throw AuthorityError(.certificateAuthority, "cannot build the \(what)")
        }
    }

    /// id-kp-cmcCA (RFC 6402): the CMP responder's certificate.
    static let cmpResponderUsage = ExtendedKeyUsage.Usage(oid: [1, 3, 6, 1, 5, 5, 7, 3, 27])

    /// 16 random bytes, top bit cleared (positive) and the next one set (no leading zero byte): 126 random bits.
    static func serialNumber(_ random: any RandomSource) -> Certificate.SerialNumber {
        var bytes = random.bytes(16)
        bytes[0] = (bytes[0] & 0x7F) | 0x40
        return Certificate.SerialNumber(bytes: bytes)
    }

    static func adding(years: Int, to date: Date) -> Date {
        let fraction = date.timeIntervalSince1970 - date.timeIntervalSince1970.rounded(.down)
        return UTCDateTime(date).adding(years: years).date + fraction
    }

    static func der(_ certificate: Certificate) throws(AuthorityError) -> [UInt8] {
        do {
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            return serializer.serializedBytes
        } catch {
            throw AuthorityError(.certificateAuthority, "cannot encode a certificate")
        }
    }

    static func pem(_ certificate: Certificate) throws(AuthorityError) -> String {
        do {
            return try certificate.serializeAsPEM().pemString + "\n"
        } catch {
            throw AuthorityError(.certificateAuthority, "cannot encode a certificate")
        }
    }
}

/// A CSR whose signature verifies (proof of possession), reduced to what issuance needs.
package struct VerifiedRequest: Sendable {
    let publicKey: Certificate.PublicKey
    /// SHA-256 of the DER SubjectPublicKeyInfo.
    let keyDigest: [UInt8]

    static let maximumSize = 16 * 1024

    package init(der: [UInt8]) throws(AuthorityError) {
        guard !der.isEmpty, der.count <= Self.maximumSize else {
            throw AuthorityError(.csrInvalid, "the certificate request is empty or too large")
        }
        let request: CertificateSigningRequest
        do {
            request = try CertificateSigningRequest(derEncoded: der)
        } catch {
            throw AuthorityError(.csrInvalid, "the certificate request is not valid PKCS#10")
        }
        guard request.publicKey.isValidSignature(request.signature, for: request) else {
            throw AuthorityError(.csrInvalid, "the certificate request's signature does not verify (no proof of possession)")
        }
        try self.init(checking: request.publicKey)
    }

    /// A public key whose possession the caller proved another way (CMP's proof of possession).
    init(publicKeyInfoDER der: [UInt8]) throws(AuthorityError) {
        guard !der.isEmpty, der.count <= Self.maximumSize, let key = try? Certificate.PublicKey(derEncoded: der) else {
            throw AuthorityError(.csrInvalid, "the request's public key is not a valid SubjectPublicKeyInfo")
        }
        try self.init(checking: key)
    }

    private init(checking key: Certificate.PublicKey) throws(AuthorityError) {
        if let rsa = _RSA.Signing.PublicKey(key), rsa.keySizeInBits < 2048 {
            throw AuthorityError(.csrInvalid, "the request's RSA key is shorter than 2048 bits")
        }
        publicKey = key
        // The whole SubjectPublicKeyInfo (algorithm and key), not just the key bits.
        var serializer = DER.Serializer()
        do {
            try serializer.serialize(key)
        } catch {
            throw AuthorityError(.csrInvalid, "the request's public key cannot be encoded")
        }
        keyDigest = Array(SHA256.hash(data: serializer.serializedBytes))
    }
}

/// The bytes of an IPv4 (`127.0.0.1`) or IPv6 (`::1`) address, for a certificate's iPAddress name.
struct IPAddressBytes {
    let bytes: [UInt8]

    init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }
}
