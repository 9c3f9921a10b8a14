import Activation
import AuthorityInterface
import Crypto
import Foundation
import GRDB
import Logging
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
    /// Revokes `target` for `reason` and publishes a new CRL (registry and `DATA/ca/crl.pem`). Revoking
    /// the application's current certificate for any reason but `superseded` revokes the application
    /// too (no further identity check, renewal or issuance). Returns the serials newly revoked; revoking
    /// again changes nothing. `actor` goes to the audit log (`operator:NAME`, `subscriber`).
    @discardableResult
    public func revoke(_ target: RevocationTarget, reason: RevocationReason, actor: String? = nil) async throws -> [String] {
        let now = configuration.time.now()
        let actor = actor ?? "operator:\(configuration.operatorName)"
        let revoked = try await registry.immediate { db -> [String] in
            let (applicationID, serials): (Int64, [String])
            switch target {
            case .application(let token):
                guard let row = try Registry.application(db, token: token) else { throw ActivationError(.unknownApplication) }
                applicationID = row.id
                serials = try String.fetchAll(
                    db, sql: "SELECT serial FROM certificate WHERE applicationId = ? AND revokedAt IS NULL", arguments: [row.id])
                if row.state.status != .revoked {
                    try db.execute(sql: "UPDATE application SET status = ?, revokedAt = ? WHERE id = ?",
                                   arguments: [ApplicationStatus.revoked.rawValue, now.timeIntervalSince1970, row.id])
                    try Registry.audit(db, at: now, actor: actor, event: .revoked, token: token,
                                       detail: "application revoked (was \(row.state.status.rawValue)): \(reason.name)")
                }
            case .certificate(let serial):
                guard let owner = try Row.fetchOne(db, sql: "SELECT applicationId, revokedAt FROM certificate WHERE serial = ?", arguments: [serial]) else {
                    throw AuthorityError(.badRequest, "no certificate with serial number \(serial) was issued by this authority")
                }
                applicationID = owner["applicationId"]
                serials = (owner["revokedAt"] as Double?) == nil ? [serial] : []
                let current = try Row.fetchOne(db, sql: "SELECT token, certificateSerial, status FROM application WHERE id = ?", arguments: [applicationID])
                if reason != .superseded, let current, (current["certificateSerial"] as String?) == serial,
                    (current["status"] as String) != ApplicationStatus.revoked.rawValue
                {
                    try db.execute(sql: "UPDATE application SET status = ?, revokedAt = ? WHERE id = ?",
                                   arguments: [ApplicationStatus.revoked.rawValue, now.timeIntervalSince1970, applicationID])
                }
            }
            for serial in serials {
                try db.execute(sql: "UPDATE certificate SET revokedAt = ?, reason = ? WHERE serial = ?",
                               arguments: [now.timeIntervalSince1970, reason.rawValue, serial])
                let token = try String.fetchOne(db, sql: "SELECT token FROM application WHERE id = ?", arguments: [applicationID])
                    .flatMap { try? ApplicationToken(parsing: $0) }
                try Registry.audit(db, at: now, actor: actor, event: .certificateRevoked, token: token, detail: "serial \(serial): \(reason.name)")
            }
            if !serials.isEmpty { _ = try self.signCRL(db, at: now) }
            return serials
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
        let (der, fresh) = try await registry.immediate { db -> ([UInt8], Bool) in
            if let row = try Row.fetchOne(db, sql: "SELECT thisUpdate, der FROM crl ORDER BY number DESC LIMIT 1"),
                now.timeIntervalSince1970 - (row["thisUpdate"] as Double) < CRLPolicy.refreshAfter
            {
                return (Array(row["der"] as Data), false)
            }
            return (try self.signCRL(db, at: now), true)
        }
        if fresh { try await publishCRL() }
        return der
    }

    /// Signs a CRL of every certificate revoked so far, numbered after the last, and stores it.
    func signCRL(_ db: Database, at now: Date) throws -> [UInt8] {
        let number = (try Int.fetchOne(db, sql: "SELECT MAX(number) FROM crl") ?? 0) + 1
        let entries = try Row.fetchAll(db, sql: "SELECT serial, revokedAt, reason FROM certificate WHERE revokedAt IS NOT NULL ORDER BY revokedAt")
            .compactMap { row -> CertificateRevocationList.Entry? in
                guard let serial = Array(hex: row["serial"]) else { return nil }
                return CertificateRevocationList.Entry(
                    serial: serial, revokedAt: Date(timeIntervalSince1970: row["revokedAt"]),
                    reason: RevocationReason(rawValue: row["reason"] ?? 0) ?? .unspecified)
            }
        let crl: CertificateRevocationList
        do {
            crl = try CertificateRevocationList.sign(
                number: number, thisUpdate: now, nextUpdate: now + CRLPolicy.validity, entries: entries,
                issuer: ca.certificate, key: ca.privateKey)
        } catch {
            throw AuthorityError(.certificateAuthority, "cannot sign the CRL")
        }
        try db.execute(sql: "INSERT INTO crl (number, thisUpdate, der) VALUES (?, ?, ?)",
                       arguments: [number, now.timeIntervalSince1970, Data(crl.der)])
        return crl.der
    }

    /// Writes the newest CRL to `DATA/ca/crl.pem` (0644), where the embedded mode's workstation and
    /// `openssl crl` read it.
    func publishCRL() async throws {
        let der = try await registry.read { db in try Data.fetchOne(db, sql: "SELECT der FROM crl ORDER BY number DESC LIMIT 1") }
        guard let der else { return }
        let pem = PEMDocument(type: "X509 CRL", derBytes: Array(der)).pemString + "\n"
        try FileSystem.replace(crlURL, bytes: Array(pem.utf8), mode: 0o644, code: .certificateAuthority)
    }

    /// `DATA/ca/crl.pem`.
    public var crlURL: URL { caCertificateURL.deletingLastPathComponent().appendingPathComponent("crl.pem") }
}

extension Array where Element == UInt8 {
    /// Bytes from hexadecimal digits (an even count), or nil.
    init?(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            guard let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex), let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
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
        let serial = Array(certificate.serialNumber.bytes).hex
        return try await registry.read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT a.token, c.der, c.revokedAt FROM certificate c JOIN application a ON a.id = c.applicationId WHERE c.serial = ?",
                arguments: [serial]),
                Array(row["der"] as Data) == der, let token = try? ApplicationToken(parsing: row["token"] as String)
            else { return nil }
            return CertificateHolder(token: token, serial: serial, revoked: (row["revokedAt"] as Double?) != nil)
        }
    }

    /// A key update: a new certificate for a new key, with the subject and extensions of the
    /// application, in place of the certificate `serial` (which stays valid until it expires or is
    /// revoked). The application's current certificate becomes the new one. Asking again for the same
    /// key returns the same certificate (an update interrupted before the profile was rewritten resumes).
    public func updateCertificate(replacing serial: String, publicKeyInfoDER: [UInt8]) async throws -> IssuedCertificate {
        let key = try VerifiedRequest(publicKeyInfoDER: publicKeyInfoDER)
        let now = configuration.time.now()
        let (row, current) = try await registry.read { db -> (Registry.ApplicationRow, String?) in
            guard let applicationID = try Int64.fetchOne(db, sql: "SELECT applicationId FROM certificate WHERE serial = ? AND revokedAt IS NULL", arguments: [serial]),
                let token = try String.fetchOne(db, sql: "SELECT token FROM application WHERE id = ?", arguments: [applicationID]),
                let row = try Registry.application(db, token: ApplicationToken(parsing: token))
            else { throw AuthorityError(.badRequest, "no valid certificate with serial number \(serial)") }
            return (row, row.certificateSerial)
        }
        if row.state.status == .revoked { throw ActivationError(.revoked) }
        if row.state.activatedKeyDigest == key.keyDigest, current != serial, let der = row.certificateDER {
            return IssuedCertificate(certificateDER: der, chainDER: [ca.certificateDER])
        }
        let issued = try ca.issue(publicKey: key.publicKey, name: row.subscriber.name, email: row.subscriber.email, at: now, random: configuration.random)
        try await registry.immediate { db in
            guard var fresh = try Registry.application(db, token: row.token) else { throw ActivationError(.unknownApplication) }
            guard fresh.certificateSerial == current else { throw ActivationError(.codesUsed) }  // a concurrent update won
            fresh.certificateSerial = issued.serial
            fresh.certificateDER = issued.der
            fresh.state.activatedKeyDigest = key.keyDigest
            try Registry.save(db, fresh)
            try Registry.recordCertificate(db, serial: issued.serial, applicationID: fresh.id, der: issued.der, at: now)
            try Registry.audit(db, at: now, actor: Self.subscriberActor, event: .certificateUpdated, token: row.token,
                               detail: "serial \(issued.serial) replaces \(serial)")
        }
        return IssuedCertificate(certificateDER: issued.der, chainDER: [ca.certificateDER])
    }

    /// The CMP responder's identity: its certificate (DER, issued by the CA with digitalSignature and
    /// cmcCA, as RFC 9483 §3.1 and OpenSSL want of a CMP signer), the CA's, and a signing function
    /// (ECDSA P-256 / SHA-256, DER). Made once per process, in memory only.
    func cmpSigningIdentity() throws -> (certificateDER: [UInt8], chainDER: [[UInt8]], sign: @Sendable ([UInt8]) throws -> [UInt8]) {
        let identity = try cmpSigner.withLock { current -> (key: P256.Signing.PrivateKey, certificateDER: [UInt8]) in
            if let current { return current }
            let key = P256.Signing.PrivateKey()
            let issued = try ca.issueService(
                publicKey: Certificate.PublicKey(key.publicKey), commonName: "Paraphe CMP responder", names: [],
                usage: CertificateAuthority.cmpResponderUsage, at: configuration.time.now(), random: configuration.random)
            current = (key, issued.der)
            return (key, issued.der)
        }
        let key = identity.key
        return (identity.certificateDER, [identity.certificateDER, ca.certificateDER], { Array(try key.signature(for: $0).derRepresentation) })
    }

    /// One CMP exchange in process (the embedded mode's `/pkix/`).
    public func cmp(_ message: [UInt8]) async throws -> [UInt8] {
        await CMPResponder(authority: self, logger: Self.logger).respond(to: message)
    }
}
