import Activation
import AuthorityInterface
import Foundation
import RevocationList

/// Where the authority keeps its state: applications, questions, codes, certificates, CRLs, the mail
/// outbox and the audit log.
///
/// Two implementations: SQLite through GRDB (`SQLiteRegistry`, one machine) and PostgreSQL through
/// postgres-nio (`PostgresRegistry`, several instances on one database).
///
/// Every rule runs in the authority's own code, in the closures given to `update` and `revoke`, on the
/// application's row as it is *under lock* (SQLite: the IMMEDIATE transaction holds the database's write
/// lock; PostgreSQL: `SELECT … FOR UPDATE` holds the application's row), so a rule is exact whatever
/// number of processes or instances apply it at once — or, for the hot path of an enrollment on PostgreSQL
/// (`update(token:basis:)`), on a row read without a lock and proved unchanged by the very statement that writes
/// the change (a row changed meanwhile goes the locked way). The closures are pure and synchronous: they read
/// the row, change it, and say what else the transaction writes (`RegistryChange`); the store writes it
/// all, or nothing, and commits. Slow work (answer hashing, signing) happens before, never under a lock.
package protocol RegistryStore: Sendable {
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
    /// The newest CRL's number and when it was signed (one indexed read; nothing else is loaded).
    func latestCRLVersion() async throws -> (number: Int, thisUpdate: Date)?
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
    /// `certificates`: load the application's certificates into the row too (one more read under the lock).
    func update<T: Sendable>(
        token: ApplicationToken, certificates: Bool, _ body: @escaping @Sendable (inout ApplicationRow) throws -> RegistryChange<T>
    ) async throws -> T
    /// `update` for a change computed from `basis`, the application as this store read it earlier without a lock.
    ///
    /// When the row is still as read, `body`'s change is written in one statement, without a lock held while `body`
    /// runs; when it changed meanwhile (another request wrote it), when the store keeps no version, or when the change
    /// is more than a saved row, a certificate and one audit row, it is exactly `update`: `body` runs again on the row
    /// under lock. So `body` must be as pure as for `update` — it may run twice, and only the last run's change is kept.
    func update<T: Sendable>(
        token: ApplicationToken, basis: ApplicationRow, _ body: @escaping @Sendable (inout ApplicationRow) throws -> RegistryChange<T>
    ) async throws -> T
    /// Appends one audit row on its own (one statement, its own commit).
    func appendAudit(_ record: AuditRecord) async throws
    /// Records the CA's fingerprint at initialisation; returns the one recorded (the first instance's).
    func recordCAFingerprint(_ fingerprint: String, audit: AuditRecord) async throws -> String
    /// The newest CRL if signed less than `maximumAge` ago; else a new one, numbered after the last,
    /// from `sign(number, every revoked certificate)`, stored (CRL numbering is serialised across instances).
    func currentCRL(at now: Date, maximumAge: TimeInterval, sign: @escaping @Sendable (Int, [CertificateRevocationList.Entry]) throws -> [UInt8])
        async throws -> (der: [UInt8], fresh: Bool)

    // MARK: Senders

    /// Records one CMP request from `client` that proved no code (an unknown reference number, a MAC that does not
    /// verify) at `now`, and forgets every such record older than `now - window` (idle clients' too).
    func recordSenderFailure(client: String, at now: Date, window: TimeInterval) async throws
    /// When `client`'s failed CMP requests since `since` happened, oldest first.
    func senderFailures(client: String, since: Date) async throws -> [Date]

    // MARK: Recovery requests

    /// Keeps a recovery request (the address typed) until `claimRecoveryRequests` takes it: one insert, whatever the
    /// address, so the request's answer tells nothing of it.
    func enqueueRecoveryRequest(email: String, at now: Date) async throws
    /// Takes up to `limit` recovery requests no one holds (or whose holder's lease ran out) for `lease` seconds,
    /// oldest first; two instances never hold the same one. A request leaves the queue when it is answered
    /// (`finishRecoveryRequest`, or the change that sends its email: `RegistryChange.answersRecoveryRequest`), not
    /// when it is taken, so one whose handler died or failed is taken again once its lease runs out.
    func claimRecoveryRequests(at now: Date, lease: TimeInterval, limit: Int) async throws -> [RecoveryRequest]
    /// Removes an answered recovery request (one that sends nothing: no application has the address, or none may).
    func finishRecoveryRequest(_ id: Int64) async throws

    // MARK: Outbox

    /// Claims up to `limit` undelivered emails (those named by `ids` only, when given) that no one holds or whose
    /// holder's lease ran out, for `lease` seconds; two instances never claim one email at once.
    func claimMail(ids: [String]?, at now: Date, lease: TimeInterval, limit: Int) async throws -> [OutgoingMail]
    /// Marks an email delivered (and forgets its text).
    func markDelivered(_ id: String, at now: Date) async throws
    /// Gives a claimed email back (its delivery failed): the next delivery may try it at once.
    func releaseMail(_ id: String) async throws
    /// Emails not delivered yet.
    func pendingMailCount() async throws -> Int

    /// Closes the connections (PostgreSQL); SQLite closes with the process.
    func close() async
}

extension RegistryStore {
    package func close() async {}

    /// `update` without the application's certificates (every rule but revocation's).
    package func update<T: Sendable>(token: ApplicationToken, _ body: @escaping @Sendable (inout ApplicationRow) throws -> RegistryChange<T>)
        async throws -> T
    {
        try await update(token: token, certificates: false, body)
    }

    /// A store that keeps no row versions: `update` under lock.
    package func update<T: Sendable>(
        token: ApplicationToken, basis: ApplicationRow, _ body: @escaping @Sendable (inout ApplicationRow) throws -> RegistryChange<T>
    ) async throws -> T {
        try await update(token: token, certificates: false, body)
    }
}

/// A new pair of codes drew a reference number that is live for another application.
package struct RegistryCollision: Error {
    package init() {}
}

/// An application and its live codes, as stored.
package struct ApplicationRow: Sendable {
    package var id: Int64
    package var token: ApplicationToken
    package var subscriber: Subscriber
    package var state: ApplicationState
    package var approvedAt: Date
    package var activatedAt: Date?
    package var revokedAt: Date?
    package var certificateSerial: String?
    package var certificateDER: [UInt8]?
    /// The certificate a recovery replaces (revoked once the new profile is confirmed).
    package var recoveringSerial: String?
    /// The instants of the recovery emails sent (for the 3-in-24-hours limit).
    package var recoveries: [Date]
    /// The codes the pending recovery's email carries (`state.recoveryRequestedAt` says since when): they replace the
    /// live pair only when the recovery's identity check passes.
    package var recoveryCodes: (reference: ReferenceNumber, sealedAuthorization: [UInt8])?
    package var codeID: Int64
    package var sealedAuthorization: [UInt8]
    /// Every certificate issued to the application, oldest first; loaded only by `update(token:certificates: true)`
    /// (nil otherwise, so a rule that needs them cannot mistake "not loaded" for "none").
    package var certificates: [StoredCertificate]?
    /// The row's version in a store that keeps one (PostgreSQL: the row's `xmin`, which every change of the application
    /// or of its codes renews), nil otherwise: what `update(token:basis:)` compares.
    package var version: String? = nil
}

package struct StoredQuestion: Sendable {
    package var text: String
    package var hash: AnswerHash

    package init(text: String, hash: AnswerHash) {
        self.text = text
        self.hash = hash
    }
}

package struct StoredCertificate: Sendable, Equatable {
    package var serial: String
    package var applicationID: Int64
    package var token: ApplicationToken
    package var der: [UInt8]
    package var issuedAt: Date
    package var revokedAt: Date?
    package var reason: RevocationReason?

    package init(
        serial: String, applicationID: Int64, token: ApplicationToken, der: [UInt8], issuedAt: Date, revokedAt: Date?, reason: RevocationReason?
    ) {
        self.serial = serial
        self.applicationID = applicationID
        self.token = token
        self.der = der
        self.issuedAt = issuedAt
        self.revokedAt = revokedAt
        self.reason = reason
    }
}

package struct StoredCRL: Sendable {
    package var number: Int
    package var thisUpdate: Date
    package var der: [UInt8]

    package init(number: Int, thisUpdate: Date, der: [UInt8]) {
        self.number = number
        self.thisUpdate = thisUpdate
        self.der = der
    }
}

/// One row of the audit log, to append.
package struct AuditRecord: Sendable {
    package var at: Date
    package var actor: String
    package var event: AuditEvent
    package var token: ApplicationToken?
    package var detail: String = ""
}

/// A live pair of codes replacing the application's current one (which dies in the same transaction).
package struct NewCodes: Sendable {
    package var reference: ReferenceNumber
    package var sealedAuthorization: [UInt8]
    package var issuedAt: Date

    package init(reference: ReferenceNumber, sealedAuthorization: [UInt8], issuedAt: Date) {
        self.reference = reference
        self.sealedAuthorization = sealedAuthorization
        self.issuedAt = issuedAt
    }
}

/// What an approval inserts.
package struct NewApplication: Sendable {
    package var token: ApplicationToken
    package var subscriber: Subscriber
    package var state: ApplicationState
    package var approvedAt: Date
    package var questions: [StoredQuestion]
    package var sealedAuthorization: [UInt8]
    package var audit: AuditRecord
    package var mail: OutgoingMail?
}

/// What an `update` writes besides its result, in the same transaction.
package struct RegistryChange<T: Sendable>: Sendable {
    package var result: T
    /// Write the row's state back (status, counters, renewals, key digest, certificate, recovery fields).
    package var save = false
    /// Replace the live codes (the row's `codeID` then names the new pair).
    package var newCodes: NewCodes? = nil
    /// Record a certificate issued to the application.
    package var certificate: (serial: String, der: [UInt8], at: Date)? = nil
    /// Revoke these certificates of the application (serials from `row.certificates`).
    package var revocations: [(serial: String, reason: RevocationReason, at: Date)] = []
    /// After the revocations, sign and store a new CRL dated `at`: `(number, every revoked certificate) -> DER`.
    package var newCRL: (at: Date, sign: @Sendable (Int, [CertificateRevocationList.Entry]) throws -> [UInt8])? = nil
    package var audit: [AuditRecord] = []
    /// An email to put in the outbox.
    package var mail: OutgoingMail? = nil
    /// The recovery request this change answers: removed in the same transaction, so it is answered once.
    package var answersRecoveryRequest: Int64? = nil

    package init(_ result: T) { self.result = result }

    package init(_ result: T, save: Bool = false, audit: [AuditRecord] = []) {
        self.result = result
        self.save = save
        self.audit = audit
    }
}

/// A recovery request waiting in the queue: the address typed.
package struct RecoveryRequest: Sendable, Equatable {
    package var id: Int64
    package var email: String

    package init(id: Int64, email: String) {
        self.id = id
        self.email = email
    }
}

/// An application row in the columns both registries store (times as seconds since 1970, renewals and
/// recoveries as JSON arrays of such), and its decoding into the domain's types.
package struct StoredApplication: Sendable {
    package var id: Int64
    package var token: String
    package var name: String
    package var email: String
    package var language: String
    package var status: String
    package var identityFailures: Int
    package var approvedAt: Double
    package var activatedAt: Double?
    package var revokedAt: Double?
    package var renewals: String
    package var certificateSerial: String?
    package var certificateDER: [UInt8]?
    package var activatedKeyDigest: [UInt8]?
    package var recoveringSerial: String?
    package var recoveries: String
    package var recoveryRequestedAt: Double?
    package var recoveryReference: String?
    package var recoverySealedAuthorization: [UInt8]?
    package var codeID: Int64
    package var reference: String
    package var sealedAuthorization: [UInt8]
    package var issuedAt: Double
    package var wrongReferences: Int
    package var used: Bool

    package init(
        id: Int64, token: String, name: String, email: String, language: String, status: String, identityFailures: Int, approvedAt: Double,
        activatedAt: Double?, revokedAt: Double?, renewals: String, certificateSerial: String?, certificateDER: [UInt8]?,
        activatedKeyDigest: [UInt8]?, recoveringSerial: String?, recoveries: String, recoveryRequestedAt: Double?, recoveryReference: String?,
        recoverySealedAuthorization: [UInt8]?, codeID: Int64, reference: String, sealedAuthorization: [UInt8], issuedAt: Double, wrongReferences: Int,
        used: Bool
    ) {
        (self.id, self.token, self.name, self.email, self.language, self.status) = (id, token, name, email, language, status)
        (self.identityFailures, self.approvedAt, self.activatedAt, self.revokedAt, self.renewals) = (
            identityFailures, approvedAt, activatedAt, revokedAt, renewals
        )
        (self.certificateSerial, self.certificateDER, self.activatedKeyDigest) = (certificateSerial, certificateDER, activatedKeyDigest)
        (self.recoveringSerial, self.recoveries, self.codeID, self.reference) = (recoveringSerial, recoveries, codeID, reference)
        (self.recoveryRequestedAt, self.recoveryReference, self.recoverySealedAuthorization) = (
            recoveryRequestedAt, recoveryReference, recoverySealedAuthorization
        )
        (self.sealedAuthorization, self.issuedAt, self.wrongReferences, self.used) = (sealedAuthorization, issuedAt, wrongReferences, used)
    }

    package init(_ row: ApplicationRow) {
        func json(_ dates: [Date]) -> String {
            "[" + dates.map { String($0.timeIntervalSince1970) }.joined(separator: ",") + "]"
        }
        self.init(
            id: row.id, token: row.token.value, name: row.subscriber.name, email: row.subscriber.email, language: row.subscriber.language.rawValue,
            status: row.state.status.rawValue, identityFailures: row.state.identityFailures, approvedAt: row.approvedAt.timeIntervalSince1970,
            activatedAt: row.activatedAt?.timeIntervalSince1970, revokedAt: row.revokedAt?.timeIntervalSince1970, renewals: json(row.state.renewals),
            certificateSerial: row.certificateSerial, certificateDER: row.certificateDER, activatedKeyDigest: row.state.activatedKeyDigest,
            recoveringSerial: row.recoveringSerial, recoveries: json(row.recoveries),
            recoveryRequestedAt: row.state.recoveryRequestedAt?.timeIntervalSince1970,
            recoveryReference: row.recoveryCodes?.reference.digits, recoverySealedAuthorization: row.recoveryCodes?.sealedAuthorization,
            codeID: row.codeID, reference: row.state.codes.reference.digits,
            sealedAuthorization: row.sealedAuthorization, issuedAt: row.state.codes.issuedAt.timeIntervalSince1970,
            wrongReferences: row.state.codes.wrongReferences, used: row.state.codes.used)
    }

    /// A history column (a JSON array of times); most are empty, read without a decoder.
    static func times(_ json: String) -> [Double]? {
        json == "[]" ? [] : try? JSONDecoder().decode([Double].self, from: Data(json.utf8))
    }

    package func decoded() throws -> ApplicationRow {
        func damaged(_ what: String) -> AuthorityError {
            AuthorityError(.storage, "the registry holds a damaged \(what)")
        }
        let parsedToken: ApplicationToken
        let parsedReference: ReferenceNumber
        var recoveryCodes: (reference: ReferenceNumber, sealedAuthorization: [UInt8])?
        do {
            parsedToken = try ApplicationToken(parsing: token)
            parsedReference = try ReferenceNumber(parsing: reference)
            if let recoveryReference, let recoverySealedAuthorization {
                recoveryCodes = (try ReferenceNumber(parsing: recoveryReference), recoverySealedAuthorization)
            }
        } catch {
            throw damaged("token or reference number")
        }
        guard let parsedLanguage = Language(rawValue: language) else { throw damaged("language") }
        guard let parsedStatus = ApplicationStatus(rawValue: status) else { throw damaged("status") }
        guard let renewalTimes = Self.times(renewals) else { throw damaged("renewal history") }
        guard let recoveryTimes = Self.times(recoveries) else { throw damaged("recovery history") }
        let codes = CodesState(
            reference: parsedReference, issuedAt: Date(timeIntervalSince1970: issuedAt), wrongReferences: wrongReferences, used: used)
        let state = ApplicationState(
            status: parsedStatus, identityFailures: identityFailures, codes: codes,
            renewals: renewalTimes.map(Date.init(timeIntervalSince1970:)), activatedKeyDigest: activatedKeyDigest,
            recoveryRequestedAt: recoveryCodes == nil ? nil : recoveryRequestedAt.map(Date.init(timeIntervalSince1970:)))
        return ApplicationRow(
            id: id, token: parsedToken, subscriber: Subscriber(name: name, email: email, language: parsedLanguage), state: state,
            approvedAt: Date(timeIntervalSince1970: approvedAt), activatedAt: activatedAt.map(Date.init(timeIntervalSince1970:)),
            revokedAt: revokedAt.map(Date.init(timeIntervalSince1970:)), certificateSerial: certificateSerial, certificateDER: certificateDER,
            recoveringSerial: recoveringSerial, recoveries: recoveryTimes.map(Date.init(timeIntervalSince1970:)),
            recoveryCodes: recoveryRequestedAt == nil ? nil : recoveryCodes, codeID: codeID, sealedAuthorization: sealedAuthorization)
    }
}

/// What the audit log records.
package enum AuditEvent: String, Sendable {
    case approved, identityFailed, identityVerified, identityLocked, codesRenewed, referenceRejected
    case certificateIssued, certificateReissued, certificateConfirmed, certificateUpdated, certificateRevoked, recoveryRequested, recoveryRefused,
        recoveryStarted
    case recoveryCompleted, revoked, caCreated, caRecorded, tlsCertificateIssued
}
