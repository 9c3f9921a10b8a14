import Activation
import AuthorityInterface
import Crypto
import Foundation
import Logging
import ParapheShared
import RevocationList
import SwiftASN1
import X509

/// What to revoke: an application (every certificate it holds, and the application itself), or
/// one certificate by its serial number (hex, colons allowed).
public enum RevocationTarget: Sendable, Equatable {
    case application(ApplicationToken)
    case certificate(serial: String)

    /// A link, a token or a serial number, as an operator types it.
    public init(parsing text: String) throws {
        if let token = try? ApplicationToken(parsing: text) {
            self = .application(token)
            return
        }
        let hex = text.filter { $0 != ":" && !$0.isWhitespace }.uppercased()
        guard !hex.isEmpty, hex.count <= 64, hex.allSatisfy(\.isHexDigit) else {
            throw AuthorityError(.badRequest, "give an activation link, its token, or a certificate serial number in hexadecimal")
        }
        self = .certificate(serial: hex)
    }
}

/// How long a CRL is valid, and how old the newest may get before it is signed again.
public enum CRLPolicy {
    public static let validity: TimeInterval = 7 * 86_400
    public static let refreshAfter: TimeInterval = 86_400
}

extension EmbeddedAuthority {
    /// Revokes `target` for `reason` and publishes a new CRL (registry and `DATA/ca/crl.pem`).
    ///
    /// Revoking the application's current certificate for any reason but `superseded` revokes the
    /// application too (no further identity check, renewal or issuance). Returns the serials newly
    /// revoked; revoking again changes nothing. `actor` goes to the audit log (`operator:NAME`,
    /// `subscriber`).
    @discardableResult
    public func revoke(_ target: RevocationTarget, reason: RevocationReason, actor: String? = nil) async throws -> [String] {
        let now = configuration.time.now()
        let actor = actor ?? "operator:\(configuration.operatorName)"
        let token: ApplicationToken
        switch target {
        case .application(let owner):
            token = owner
        case .certificate(let serial):
            guard let stored = try await registry.certificate(serial: serial) else {
                throw AuthorityError(.badRequest, "no certificate with serial number \(serial) was issued by this authority")
            }
            token = stored.token
        }
        let sign = crlSigner(at: now)
        let revoked = try await registry.update(token: token, certificates: true) { row -> RegistryChange<[String]> in
            var change = RegistryChange([String]())
            guard let certificates = row.certificates else { throw AuthorityError(.storage, "the certificates were not loaded") }
            let serials: [String]
            switch target {
            case .application:
                serials = certificates.filter { $0.revokedAt == nil }.map(\.serial)
                if row.state.status != .revoked {
                    change.audit.append(
                        AuditRecord(
                            at: now, actor: actor, event: .revoked, token: row.token,
                            detail: "application revoked (was \(row.state.status.rawValue)): \(reason.name)"))
                    row.state.status = .revoked
                    row.revokedAt = now
                    change.save = true
                }
            case .certificate(let serial):
                guard let certificate = certificates.first(where: { $0.serial == serial }) else {
                    throw AuthorityError(.badRequest, "no certificate with serial number \(serial) was issued by this authority")
                }
                if reason == .keyCompromise, row.certificateSerial == serial {
                    // The current key is compromised: so may be every key the holder kept (a dated backup holds the
                    // previous ones), and every certificate still valid goes with it.
                    serials = certificates.filter { $0.revokedAt == nil && Self.isUnexpired($0.der, at: now) }.map(\.serial)
                } else {
                    serials = certificate.revokedAt == nil ? [serial] : []
                }
                // Revoking the application's current certificate (but for a successor) revokes the application.
                if reason != .superseded, row.certificateSerial == serial, row.state.status != .revoked {
                    row.state.status = .revoked
                    row.revokedAt = now
                    change.save = true
                }
            }
            change.revocations = serials.map { ($0, reason, now) }
            change.audit += serials.map {
                AuditRecord(at: now, actor: actor, event: .certificateRevoked, token: row.token, detail: "serial \($0): \(reason.name)")
            }
            if !serials.isEmpty { change.newCRL = (now, sign) }
            change.result = serials
            return change
        }
        if !revoked.isEmpty {
            Self.logger.notice("certificates revoked", metadata: ["count": "\(revoked.count)", "reason": "\(reason.name)"])
            try await publishCRL()
        }
        return revoked
    }

    /// The newest CRL (DER), signed again first if it is older than a day (or there is none yet), so
    /// that a published CRL is never past its `nextUpdate`.
    public func revocationList() async throws -> [UInt8]? {
        let now = configuration.time.now()
        let (der, fresh) = try await registry.currentCRL(at: now, maximumAge: CRLPolicy.refreshAfter, sign: crlSigner(at: now))
        if fresh { try await publishCRL() }
        return der
    }

    /// The newest CRL's number, if it is still current (signed less than `CRLPolicy.refreshAfter` ago): what a
    /// cache of `revocationList()` compares with (nil: ask `revocationList()`, which signs a new one if due).
    public func currentRevocationListNumber() async throws -> Int? {
        guard let version = try await registry.latestCRLVersion(), now.timeIntervalSince(version.thisUpdate) < CRLPolicy.refreshAfter else {
            return nil
        }
        return version.number
    }

    /// Signs a CRL dated `now` (valid `CRLPolicy.validity`) with the given number and entries.
    func crlSigner(at now: Date) -> @Sendable (Int, [CertificateRevocationList.Entry]) throws -> [UInt8] {
        let ca = self.ca
        return { number, entries in
            do {
                return try CertificateRevocationList.sign(
                    number: number, thisUpdate: now, nextUpdate: now + CRLPolicy.validity, entries: entries,
                    issuer: ca.certificate, key: ca.privateKey
                ).der
            } catch {
                throw AuthorityError(.certificateAuthority, "cannot sign the CRL")
            }
        }
    }

    /// Writes the newest CRL to `DATA/ca/crl.pem` (0644), where the embedded mode's workstation and
    /// `openssl crl` read it.
    func publishCRL() async throws {
        guard let der = try await registry.latestCRL()?.der else { return }
        let pem = PEMDocument(type: "X509 CRL", derBytes: der).pemString + "\n"
        try FileSystem.replace(crlURL, bytes: Array(pem.utf8), mode: 0o644, code: .certificateAuthority)
    }

    /// `DATA/ca/crl.pem`.
    public var crlURL: URL { caCertificateURL.deletingLastPathComponent().appendingPathComponent("crl.pem") }
}

extension Array where Element == UInt8 {
    /// Bytes from hexadecimal digits (an even count), or nil.
    package init?(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            guard let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex), let byte = UInt8(hex[index..<next], radix: 16) else {
                return nil
            }
            bytes.append(byte)
            index = next
        }
        self = bytes
    }
}

extension EmbeddedAuthority {
    /// A certificate this authority issued, as its holder presents it.
    public struct CertificateHolder: Sendable, Equatable {
        public var token: ApplicationToken
        public var serial: String
        public var revoked: Bool
    }

    /// The application and state of a certificate (DER) this authority issued; nil if it did not issue
    /// exactly these bytes.
    public func certificateHolder(of der: [UInt8]) async throws -> CertificateHolder? {
        guard let certificate = try? Certificate(derEncoded: der) else { return nil }
        let serial = Hex.uppercase(certificate.serialNumber.bytes)
        guard let stored = try await registry.certificate(serial: serial), stored.der == der else { return nil }
        return CertificateHolder(token: stored.token, serial: serial, revoked: stored.revokedAt != nil)
    }

    /// How long before its end the CMP responder's certificate is replaced.
    static let responderRenewBefore: TimeInterval = 30 * 86_400

    /// Whether the certificate `der` is still within its validity at `now` (an unreadable one counts as valid:
    /// revoking too much is the safe side).
    static func isUnexpired(_ der: [UInt8], at now: Date) -> Bool {
        guard let certificate = try? Certificate(derEncoded: der) else { return true }
        return now < certificate.notValidAfter
    }

    /// Who may update: the application's current certificate only (a replaced one — whose key a dated backup may
    /// still hold — can no longer mint certificates), and only while the application is activated (not once a
    /// recovery's identity check passed: the recovery replaces that certificate).
    static func ensureMayUpdate(_ row: ApplicationRow, from serial: String) throws {
        switch row.state.status {
        case .activated: break
        case .revoked: throw ActivationError(.revoked)
        case .approved where row.recoveringSerial != nil:
            throw AuthorityError(.notAuthorized, "a recovery of this application has begun: its certificates can no longer be updated")
        case .approved, .identityLocked:
            throw AuthorityError(.notAuthorized, "this application's certificates cannot be updated now (\(row.state.status.rawValue))")
        }
        guard row.certificateSerial == serial else {
            throw AuthorityError(
                .notAuthorized, "certificate \(serial) was replaced: only the application's current certificate may ask for an update")
        }
    }

    /// A key update: a new certificate for a new key, with the subject and extensions of the
    /// application, in place of the current certificate `serial` (which stays valid until it expires or is
    /// revoked, but may no longer update).
    ///
    /// The application's current certificate becomes the new one. Asking again for the same key returns the
    /// same certificate and mints nothing (an update interrupted before the profile was rewritten resumes,
    /// signed with the certificate it replaced: the request's proof of possession is the new key's).
    public func updateCertificate(replacing serial: String, publicKeyInfoDER: [UInt8]) async throws -> IssuedCertificate {
        let key = try VerifiedRequest(publicKeyInfoDER: publicKeyInfoDER)
        let now = configuration.time.now()
        guard let stored = try await registry.certificate(serial: serial), stored.revokedAt == nil,
            let row = try await registry.application(token: stored.token)
        else { throw AuthorityError(.badRequest, "no valid certificate with serial number \(serial)") }
        if row.state.status == .activated, row.state.activatedKeyDigest == key.keyDigest, row.certificateSerial != serial,
            let der = row.certificateDER
        {
            return IssuedCertificate(certificateDER: der, chainDER: [ca.certificateDER])
        }
        try Self.ensureMayUpdate(row, from: serial)
        let issued = try ca.issue(
            publicKey: key.publicKey, name: row.subscriber.name, email: row.subscriber.email, at: now, random: configuration.random)
        try await registry.update(token: row.token) { fresh -> RegistryChange<Void> in
            // Again under the lock: a concurrent update, recovery or revocation may have come first.
            try Self.ensureMayUpdate(fresh, from: serial)
            fresh.certificateSerial = issued.serial
            fresh.certificateDER = issued.der
            fresh.state.activatedKeyDigest = key.keyDigest
            var change = RegistryChange(
                (), save: true,
                audit: [
                    AuditRecord(
                        at: now, actor: Self.subscriberActor, event: .certificateUpdated,
                        token: row.token, detail: "serial \(issued.serial) replaces \(serial)")
                ])
            change.certificate = (issued.serial, issued.der, now)
            return change
        }
        return IssuedCertificate(certificateDER: issued.der, chainDER: [ca.certificateDER])
    }

    /// The CMP responder's identity: its certificate (DER, issued by the CA with digitalSignature and
    /// cmcCA, as RFC 9483 §3.1 and OpenSSL want of a CMP signer), the CA's, and a signing function
    /// (ECDSA P-256 / SHA-256, DER).
    ///
    /// Made in memory only, at first use and again when the certificate has less than `responderRenewBefore` left
    /// (it is issued for 90 days; a process may run for years).
    func cmpSigningIdentity() throws -> (certificateDER: [UInt8], chainDER: [[UInt8]], sign: @Sendable ([UInt8]) throws -> [UInt8]) {
        let now = configuration.time.now()
        let identity = try cmpSigner.withLock { current -> (key: P256.Signing.PrivateKey, certificateDER: [UInt8], notAfter: Date) in
            if let current, now < current.notAfter - Self.responderRenewBefore { return current }
            let key = P256.Signing.PrivateKey()
            let issued = try ca.issueService(
                publicKey: Certificate.PublicKey(key.publicKey), commonName: "Paraphe CMP responder", names: [],
                usage: CertificateAuthority.cmpResponderUsage, at: now, random: configuration.random)
            let made = (key, issued.der, try Certificate(derEncoded: issued.der).notValidAfter)
            current = made
            return made
        }
        let key = identity.key
        return (identity.certificateDER, [identity.certificateDER, ca.certificateDER], { Array(try key.signature(for: $0).derRepresentation) })
    }

    /// One CMP exchange in process (the embedded mode's `/pkix/`).
    public func cmp(_ message: [UInt8]) async throws -> [UInt8] {
        await CMPResponder(authority: self, logger: Self.logger).respond(to: message, from: .local)
    }
}
