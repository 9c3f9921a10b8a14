import Activation
import AuthorityInterface
import Foundation
import RevocationList

/// Where the authority keeps its state: applications, questions, codes, certificates, CRLs, the mail
/// outbox and the audit log. Two implementations: SQLite through GRDB (`SQLiteRegistry`, one machine)
/// and PostgreSQL through postgres-nio (`PostgresRegistry`, several instances on one database).
///
/// Every rule runs in the authority's own code, in the closures given to `update` and `revoke`, on the
/// application's row as it is *under lock* (SQLite: the IMMEDIATE transaction holds the database's write
/// lock; PostgreSQL: `SELECT … FOR UPDATE` holds the application's row), so a rule is exact whatever
/// number of processes or instances apply it at once. The closures are pure and synchronous: they read
/// the row, change it, and say what else the transaction writes (`RegistryChange`); the store writes it
/// all, or nothing, and commits. Slow work (answer hashing, signing) happens before, never under a lock.
protocol RegistryStore: Sendable {
    /// What the operator is told the registry is (`sqlite:/path`, `postgres://user@host:port/db`; never a password).
    var location: String { get }

    // MARK: Reads (a consistent snapshot each)

    func application(token: ApplicationToken) async throws -> ApplicationRow?
    /// The application and its questions (text and answer hash, in order).
    func applicationWithQuestions(token: ApplicationToken) async throws -> (ApplicationRow, [StoredQuestion])?
    /// The application whose live codes carry `reference` (unique among live codes).
    func tokenOfLiveReference(_ reference: ReferenceNumber) async throws -> ApplicationToken?
    /// The newest activated application with this email address (case-insensitive), or the one already in
    /// a recovery.
    func recoveryCandidate(email: String) async throws -> ApplicationToken?
    func certificate(serial: String) async throws -> StoredCertificate?
    func latestCRL() async throws -> StoredCRL?
    /// Every application, in approval order.
    func allApplications() async throws -> [ApplicationRow]
    /// The whole audit log, oldest first.
    func auditEntries() async throws -> [AuditEntry]
    /// The fingerprint of the CA this registry was initialised with, if any.
    func recordedCAFingerprint() async throws -> String?

    // MARK: Changes (one transaction each)

    /// Inserts an approved application with its questions, live codes and audit row; false if its token
    /// or reference number is taken (the caller draws new ones).
    func insertApplication(_ application: NewApplication) async throws -> Bool
    /// Loads the application under lock, runs `body` on it and writes what it returns. A new pair of codes
    /// whose reference number is live elsewhere throws `RegistryCollision` (nothing written; draw again).
    /// `body` throwing writes nothing. Unknown token: `ActivationError(.unknownApplication)`.
    func update<T: Sendable>(token: ApplicationToken, _ body: @escaping @Sendable (inout ApplicationRow) throws -> RegistryChange<T>) async throws -> T
    /// Appends one audit row on its own.
    func appendAudit(_ record: AuditRecord) async throws
    /// Records the CA's fingerprint at initialisation; returns the one recorded (the first instance's).
    func recordCAFingerprint(_ fingerprint: String, audit: AuditRecord) async throws -> String
    /// The newest CRL if signed less than `maximumAge` ago; else a new one, numbered after the last,
    /// from `sign(number, every revoked certificate)`, stored (CRL numbering is serialised across instances).
    func currentCRL(at now: Date, maximumAge: TimeInterval, sign: @escaping @Sendable (Int, [CertificateRevocationList.Entry]) throws -> [UInt8]) async throws -> (der: [UInt8], fresh: Bool)
}

/// A new pair of codes drew a reference number that is live for another application.
struct RegistryCollision: Error {}

/// An application and its live codes, as stored.
struct ApplicationRow: Sendable {
    var id: Int64
    var token: ApplicationToken
    var subscriber: Subscriber
    var state: ApplicationState
    var approvedAt: Date
    var activatedAt: Date?
    var revokedAt: Date?
    var certificateSerial: String?
    var certificateDER: [UInt8]?
    /// The certificate a recovery replaces (revoked once the new profile is confirmed).
    var recoveringSerial: String?
    /// The instants of the recovery emails sent (for the 3-in-24-hours limit).
    var recoveries: [Date]
    var codeID: Int64
    var sealedAuthorization: [UInt8]
    /// Every certificate issued to the application, oldest first (loaded by `update` only).
    var certificates: [StoredCertificate] = []
}

struct StoredQuestion: Sendable {
    var text: String
    var hash: AnswerHash
}

struct StoredCertificate: Sendable, Equatable {
    var serial: String
    var applicationID: Int64
    var token: ApplicationToken
    var der: [UInt8]
    var issuedAt: Date
    var revokedAt: Date?
    var reason: RevocationReason?
}

struct StoredCRL: Sendable {
    var number: Int
    var thisUpdate: Date
    var der: [UInt8]
}

/// One row of the audit log, to append.
struct AuditRecord: Sendable {
    var at: Date
    var actor: String
    var event: AuditEvent
    var token: ApplicationToken?
    var detail: String = ""
}

/// A live pair of codes replacing the application's current one (which dies in the same transaction).
struct NewCodes: Sendable {
    var reference: ReferenceNumber
    var sealedAuthorization: [UInt8]
    var issuedAt: Date
}

/// What an approval inserts.
struct NewApplication: Sendable {
    var token: ApplicationToken
    var subscriber: Subscriber
    var state: ApplicationState
    var approvedAt: Date
    var questions: [StoredQuestion]
    var sealedAuthorization: [UInt8]
    var audit: AuditRecord
}

/// What an `update` writes besides its result, in the same transaction.
struct RegistryChange<T: Sendable>: Sendable {
    var result: T
    /// Write the row's state back (status, counters, renewals, key digest, certificate, recovery fields).
    var save = false
    /// Replace the live codes (the row's `codeID` then names the new pair).
    var newCodes: NewCodes? = nil
    /// Record a certificate issued to the application.
    var certificate: (serial: String, der: [UInt8], at: Date)? = nil
    /// Revoke these certificates of the application (serials from `row.certificates`).
    var revocations: [(serial: String, reason: RevocationReason, at: Date)] = []
    /// After the revocations, sign and store a new CRL dated `at`: `(number, every revoked certificate) -> DER`.
    var newCRL: (at: Date, sign: @Sendable (Int, [CertificateRevocationList.Entry]) throws -> [UInt8])? = nil
    var audit: [AuditRecord] = []

    init(_ result: T) { self.result = result }

    init(_ result: T, save: Bool = false, audit: [AuditRecord] = []) {
        self.result = result
        self.save = save
        self.audit = audit
    }
}
