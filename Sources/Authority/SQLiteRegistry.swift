import Activation
import AuthorityInterface
import Foundation
import GRDB
import ParapheShared
import RevocationList

/// The registry of one machine: applications, their security questions, their activation codes,
/// certificates, CRLs and the audit log, in `DATA/registry.sqlite` (WAL).
///
/// Every state change is one IMMEDIATE transaction, so concurrent processes queue for the write
/// lock instead of overwriting each other.
package struct SQLiteRegistry: RegistryStore {
    let pool: DatabasePool
    package let location: String

    /// Opens (creating and migrating if needed) the registry at `url`.
    ///
    /// Call while holding the data directory's setup lock: migrations are not safe to run concurrently.
    package static func open(at url: URL) throws(AuthorityError) -> SQLiteRegistry {
        var configuration = Configuration()
        // A busy database (another process writing) is waited out, never reported as "database is locked".
        configuration.busyMode = .timeout(10)
        configuration.journalMode = .wal
        configuration.foreignKeysEnabled = true
        configuration.label = "Paraphe.registry"
        // Created 0600 before SQLite opens it: the -wal and -shm files then get the same mode.
        if try FileSystem.status(url, code: .storage) == nil {
            do {
                try FileSystem.createExclusive(url, bytes: [], mode: 0o600, code: .storage)
            } catch let error as FileFailure where error.code == .exists {
                // Another process just created it.
            } catch let error as AuthorityError {
                throw error
            } catch {
                throw AuthorityError(.storage, "cannot create the registry")
            }
        }
        do {
            let pool = try DatabasePool(path: url.path, configuration: configuration)
            try migrator.migrate(pool)
            return SQLiteRegistry(pool: pool, location: "sqlite:" + url.path)
        } catch let error as DatabaseError {
            throw AuthorityError(.storage, "cannot open the registry (SQLite error \(error.resultCode.rawValue))")
        } catch {
            throw AuthorityError(.storage, "cannot open the registry")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE application (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        token TEXT NOT NULL UNIQUE,                 -- canonical 16 characters; the UNIQUE index serves lookups
                        name TEXT NOT NULL,
                        email TEXT NOT NULL,
                        language TEXT NOT NULL,
                        status TEXT NOT NULL,
                        identityFailures INTEGER NOT NULL DEFAULT 0,
                        approvedAt REAL NOT NULL,                   -- seconds since 1970, UTC
                        activatedAt REAL,
                        renewals TEXT NOT NULL DEFAULT '[]',        -- JSON array of renewal instants (seconds since 1970)
                        certificateSerial TEXT,
                        certificateDER BLOB,
                        activatedKeyDigest BLOB,                    -- SHA-256 of the activated key's SubjectPublicKeyInfo
                        revokedAt REAL
                    );
                    CREATE TABLE question (
                        applicationId INTEGER NOT NULL REFERENCES application(id),
                        position INTEGER NOT NULL,
                        text TEXT NOT NULL,
                        salt BLOB NOT NULL,
                        hash BLOB NOT NULL,                         -- PBKDF2-HMAC-SHA256 of the normalized answer
                        iterations INTEGER NOT NULL,
                        PRIMARY KEY (applicationId, position)
                    ) WITHOUT ROWID;
                    CREATE TABLE code (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        applicationId INTEGER NOT NULL REFERENCES application(id),
                        reference TEXT NOT NULL,                    -- nine digits
                        sealedAuthorization BLOB NOT NULL,          -- AES-256-GCM under authority.key; never in clear
                        issuedAt REAL NOT NULL,
                        wrongReferences INTEGER NOT NULL DEFAULT 0,
                        used INTEGER NOT NULL DEFAULT 0,
                        superseded INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX code_reference ON code(reference);
                    -- A reference number is unique among live codes; an application has one live pair.
                    CREATE UNIQUE INDEX code_live_reference ON code(reference) WHERE superseded = 0;
                    CREATE UNIQUE INDEX code_live_application ON code(applicationId) WHERE superseded = 0;
                    CREATE TABLE audit (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at REAL NOT NULL,
                        actor TEXT NOT NULL,
                        event TEXT NOT NULL,
                        token TEXT,
                        detail TEXT NOT NULL DEFAULT ''
                    );
                    CREATE INDEX audit_token ON audit(token);
                    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    """)
        }
        // Every certificate issued (an application may have several over its life) and the CRLs signed.
        migrator.registerMigration("v2-certificates-and-crls") { db in
            try db.execute(
                sql: """
                    CREATE TABLE certificate (
                        serial TEXT PRIMARY KEY,                    -- hex, as the audit log shows it
                        applicationId INTEGER NOT NULL REFERENCES application(id),
                        der BLOB NOT NULL,
                        issuedAt REAL NOT NULL,
                        revokedAt REAL,
                        reason INTEGER                              -- RFC 5280 CRLReason when revoked
                    );
                    CREATE INDEX certificate_application ON certificate(applicationId);
                    CREATE INDEX certificate_revoked ON certificate(revokedAt) WHERE revokedAt IS NOT NULL;
                    CREATE TABLE crl (
                        number INTEGER PRIMARY KEY,                 -- the CRL number, increasing
                        thisUpdate REAL NOT NULL,
                        der BLOB NOT NULL
                    );
                    INSERT INTO certificate (serial, applicationId, der, issuedAt, revokedAt, reason)
                        SELECT certificateSerial, id, certificateDER, COALESCE(activatedAt, approvedAt), revokedAt,
                               CASE WHEN revokedAt IS NULL THEN NULL ELSE 0 END
                        FROM application WHERE certificateSerial IS NOT NULL AND certificateDER IS NOT NULL;
                    """)
        }
        // Recovery: the certificate a recovery replaces (revoked once the new profile is confirmed), and
        // the instants of the recovery emails (at most 3 in 24 h).
        migrator.registerMigration("v3-recovery") { db in
            try db.execute(
                sql: """
                    ALTER TABLE application ADD COLUMN recoveringSerial TEXT;
                    ALTER TABLE application ADD COLUMN recoveries TEXT NOT NULL DEFAULT '[]';
                    CREATE INDEX application_email ON application(email COLLATE NOCASE);
                    """)
        }
        // The CA every instance must share (its SHA-256 fingerprint, recorded at initialisation).
        migrator.registerMigration("v4-authority") { db in
            try db.execute(
                sql: """
                    CREATE TABLE authority (
                        key TEXT PRIMARY KEY,
                        value TEXT NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        // The outbox: emails written with the change that sends them, delivered once after the commit.
        migrator.registerMigration("v5-outbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE outbox (
                        id TEXT PRIMARY KEY,                        -- the Maildir file name, unique
                        recipient TEXT NOT NULL,
                        message BLOB NOT NULL,                      -- emptied once delivered
                        createdAt REAL NOT NULL,
                        claimedUntil REAL,                          -- an instance is delivering it until then
                        deliveredAt REAL,
                        attempts INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX outbox_pending ON outbox(createdAt) WHERE deliveredAt IS NULL;
                    """)
        }
        // Failed CMP requests by client address (those that proved no code), for the per-sender limit.
        migrator.registerMigration("v6-senders") { db in
            try db.execute(
                sql: """
                    CREATE TABLE sender_failure (
                        client TEXT NOT NULL,                       -- an IPv4 address, an IPv6 /64, or "local"
                        at REAL NOT NULL
                    );
                    CREATE INDEX sender_failure_client ON sender_failure(client, at);
                    CREATE INDEX sender_failure_at ON sender_failure(at);
                    """)
        }
        // A recovery asked for waits for its identity check: its codes are kept beside the application until then.
        migrator.registerMigration("v7-pending-recovery") { db in
            try db.execute(
                sql: """
                    ALTER TABLE application ADD COLUMN recoveryRequestedAt REAL;
                    ALTER TABLE application ADD COLUMN recoveryReference TEXT;
                    ALTER TABLE application ADD COLUMN recoverySealedAuthorization BLOB;   -- AES-256-GCM under authority.key
                    CREATE TABLE recovery_request (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        email TEXT NOT NULL,                        -- as typed; deleted when answered (within seconds)
                        requestedAt REAL NOT NULL
                    );
                    """)
        }
        // A recovery request leaves the queue when answered, not when taken: a handler that dies leaves it to the next.
        migrator.registerMigration("v8-recovery-request-lease") { db in
            try db.execute(sql: "ALTER TABLE recovery_request ADD COLUMN claimedUntil REAL")
        }
        return migrator
    }

    // MARK: - Transactions

    /// Runs `body` in one IMMEDIATE transaction (the write lock is taken at BEGIN, so the state it
    /// reads is the state it writes over), committing when it returns.
    func immediate<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                guard let result else { throw AuthorityError(.storage, "a registry transaction produced no result") }
                return result
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw RegistryCollision()
        } catch let error as DatabaseError {
            throw Self.storageError(error, "registry update failed")
        } catch {
            throw Self.passThrough(error, "registry update failed")
        }
    }

    /// Runs a read in a snapshot.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as DatabaseError {
            throw Self.storageError(error, "registry read failed")
        } catch {
            throw Self.passThrough(error, "registry read failed")
        }
    }

    /// Rule refusals, authority errors, collisions and cancellation go through as they are; anything
    /// else becomes a storage error.
    static func passThrough(_ error: any Error, _ what: String) -> any Error {
        switch error {
        case is ActivationError, is AuthorityError, is CancellationError, is RegistryCollision: error
        default: AuthorityError(.storage, what)
        }
    }

    /// A storage error naming the SQLite code only: GRDB messages can quote SQL or values.
    static func storageError(_ error: DatabaseError, _ what: String) -> AuthorityError {
        AuthorityError(.storage, "\(what) (SQLite error \(error.extendedResultCode.rawValue))")
    }

    // MARK: - RegistryStore: reads

    package func application(token: ApplicationToken) async throws -> ApplicationRow? {
        try await read { db in try Self.application(db, token: token) }
    }

    package func applicationWithQuestions(token: ApplicationToken) async throws -> (ApplicationRow, [StoredQuestion])? {
        try await read { db in
            guard let row = try Self.application(db, token: token) else { return nil }
            return (row, try Self.questions(db, applicationID: row.id))
        }
    }

    package func tokenOfLiveReference(_ reference: ReferenceNumber) async throws -> ApplicationToken? {
        try await read { db in
            let text = try String.fetchOne(
                db, sql: "SELECT a.token FROM code c JOIN application a ON a.id = c.applicationId WHERE c.reference = ? AND c.superseded = 0",
                arguments: [reference.digits])
            return try text.map(Self.token)
        }
    }

    package func recoveryCandidate(email: String) async throws -> ApplicationToken? {
        try await read { db in
            try String.fetchOne(
                db,
                sql: """
                    SELECT token FROM application WHERE email = ? COLLATE NOCASE
                    AND (status = ? OR (status = ? AND recoveringSerial IS NOT NULL)) ORDER BY activatedAt DESC LIMIT 1
                    """,
                arguments: [email, ApplicationStatus.activated.rawValue, ApplicationStatus.approved.rawValue]
            ).map(Self.token)
        }
    }

    package func certificate(serial: String) async throws -> StoredCertificate? {
        try await read { db in
            try Row.fetchOne(db, sql: Self.certificateSelect + " WHERE c.serial = ?", arguments: [serial]).map(Self.decodeCertificate)
        }
    }

    package func latestCRLVersion() async throws -> (number: Int, thisUpdate: Date)? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT number, thisUpdate FROM crl ORDER BY number DESC LIMIT 1").map { row in
                (row["number"] as Int, Date(timeIntervalSince1970: row["thisUpdate"]))
            }
        }
    }

    package func latestCRL() async throws -> StoredCRL? {
        try await read { db in try Self.latestCRL(db) }
    }

    package func allApplications() async throws -> [ApplicationRow] {
        try await read { db in try Row.fetchAll(db, sql: Self.applicationSelect + " ORDER BY a.id").map(Self.decode) }
    }

    package func auditEntries() async throws -> [AuditEntry] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT id, at, actor, event, token, detail FROM audit ORDER BY id").map { row in
                AuditEntry(
                    id: row["id"], at: Date(timeIntervalSince1970: row["at"]), actor: row["actor"], event: row["event"],
                    token: row["token"], detail: row["detail"])
            }
        }
    }

    package func recordedCAFingerprint() async throws -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT value FROM authority WHERE key = 'ca-fingerprint'") }
    }

    // MARK: - RegistryStore: changes

    package func insertApplication(_ application: NewApplication) async throws -> Bool {
        do {
            return try await immediate { db in
                try db.execute(
                    sql: """
                        INSERT INTO application (token, name, email, language, status, identityFailures, approvedAt)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        application.token.value, application.subscriber.name, application.subscriber.email,
                        application.subscriber.language.rawValue, application.state.status.rawValue,
                        application.state.identityFailures, application.approvedAt.timeIntervalSince1970,
                    ])
                let id = db.lastInsertedRowID
                for (position, question) in application.questions.enumerated() {
                    try db.execute(
                        sql: "INSERT INTO question (applicationId, position, text, salt, hash, iterations) VALUES (?, ?, ?, ?, ?, ?)",
                        arguments: [id, position, question.text, Data(question.hash.salt), Data(question.hash.hash), question.hash.iterations])
                }
                _ = try Self.insertCodes(
                    db, applicationID: id,
                    NewCodes(
                        reference: application.state.codes.reference, sealedAuthorization: application.sealedAuthorization,
                        issuedAt: application.state.codes.issuedAt))
                try Self.audit(db, application.audit)
                if let mail = application.mail { try Self.enqueue(db, mail, at: application.audit.at) }
                return true
            }
        } catch is RegistryCollision {
            return false
        }
    }

    package func update<T: Sendable>(
        token: ApplicationToken, certificates: Bool, _ body: @escaping @Sendable (inout ApplicationRow) throws -> RegistryChange<T>
    ) async throws -> T {
        try await immediate { db in
            guard var row = try Self.application(db, token: token) else { throw ActivationError(.unknownApplication) }
            if certificates {
                row.certificates = try Row.fetchAll(
                    db, sql: Self.certificateSelect + " WHERE c.applicationId = ? ORDER BY c.issuedAt", arguments: [row.id]
                )
                .map(Self.decodeCertificate)
            }
            let change = try body(&row)
            if let codes = change.newCodes {
                try db.execute(sql: "UPDATE code SET superseded = 1 WHERE id = ?", arguments: [row.codeID])
                row.codeID = try Self.insertCodes(db, applicationID: row.id, codes)
            }
            if change.save || change.newCodes != nil { try Self.save(db, row) }
            if let certificate = change.certificate {
                try db.execute(
                    sql: "INSERT INTO certificate (serial, applicationId, der, issuedAt) VALUES (?, ?, ?, ?)",
                    arguments: [certificate.serial, row.id, Data(certificate.der), certificate.at.timeIntervalSince1970])
            }
            for revocation in change.revocations {
                try db.execute(
                    sql: "UPDATE certificate SET revokedAt = ?, reason = ? WHERE serial = ? AND applicationId = ? AND revokedAt IS NULL",
                    arguments: [revocation.at.timeIntervalSince1970, revocation.reason.rawValue, revocation.serial, row.id])
            }
            for record in change.audit { try Self.audit(db, record) }
            if let mail = change.mail { try Self.enqueue(db, mail, at: change.audit.first?.at ?? Date()) }
            if let request = change.answersRecoveryRequest { try Self.deleteRecoveryRequest(db, request) }
            if let crl = change.newCRL { _ = try Self.storeNewCRL(db, at: crl.at, sign: crl.sign) }
            return change.result
        }
    }

    package func appendAudit(_ record: AuditRecord) async throws {
        try await immediate { db in try Self.audit(db, record) }
    }

    package func recordCAFingerprint(_ fingerprint: String, audit: AuditRecord) async throws -> String {
        try await immediate { db in
            if let recorded = try String.fetchOne(db, sql: "SELECT value FROM authority WHERE key = 'ca-fingerprint'") { return recorded }
            try db.execute(sql: "INSERT INTO authority (key, value) VALUES ('ca-fingerprint', ?)", arguments: [fingerprint])
            try Self.audit(db, audit)
            return fingerprint
        }
    }

    /// `recordCAFingerprint` while the data directory is being set up (synchronously, under its lock).
    func recordCAFingerprintNow(_ fingerprint: String, audit: AuditRecord?) throws(AuthorityError) -> String {
        do {
            return try pool.writeWithoutTransaction { db in
                var recorded = fingerprint
                try db.inTransaction(.immediate) {
                    if let existing = try String.fetchOne(db, sql: "SELECT value FROM authority WHERE key = 'ca-fingerprint'") {
                        recorded = existing
                    } else {
                        try db.execute(sql: "INSERT INTO authority (key, value) VALUES ('ca-fingerprint', ?)", arguments: [fingerprint])
                        if let audit { try Self.audit(db, audit) }
                    }
                    return .commit
                }
                return recorded
            }
        } catch let error as DatabaseError {
            throw Self.storageError(error, "cannot record the CA")
        } catch {
            throw AuthorityError(.storage, "cannot record the CA")
        }
    }

    package func currentCRL(
        at now: Date, maximumAge: TimeInterval, sign: @escaping @Sendable (Int, [CertificateRevocationList.Entry]) throws -> [UInt8]
    ) async throws -> (der: [UInt8], fresh: Bool) {
        try await immediate { db in
            if let latest = try Self.latestCRL(db), now.timeIntervalSince(latest.thisUpdate) < maximumAge { return (latest.der, false) }
            return (try Self.storeNewCRL(db, at: now, sign: sign), true)
        }
    }

    // MARK: - Export

    /// Every row, table by table (one snapshot).
    package func export() async throws -> RegistryExport {
        try await read { db in
            var export = RegistryExport()
            func bytes(_ row: Row, _ column: String) -> [UInt8]? { (row[column] as Data?).map { Array($0) } }
            export.applications = try Row.fetchAll(db, sql: "SELECT * FROM application ORDER BY id").map { row in
                RegistryExport.Application(
                    id: row["id"], token: row["token"], name: row["name"], email: row["email"], language: row["language"], status: row["status"],
                    identityFailures: row["identityFailures"], approvedAt: row["approvedAt"], activatedAt: row["activatedAt"],
                    revokedAt: row["revokedAt"],
                    renewals: row["renewals"], certificateSerial: row["certificateSerial"], certificateDER: bytes(row, "certificateDER"),
                    activatedKeyDigest: bytes(row, "activatedKeyDigest"), recoveringSerial: row["recoveringSerial"], recoveries: row["recoveries"],
                    recoveryRequestedAt: row["recoveryRequestedAt"], recoveryReference: row["recoveryReference"],
                    recoverySealedAuthorization: bytes(row, "recoverySealedAuthorization"))
            }
            export.questions = try Row.fetchAll(db, sql: "SELECT * FROM question ORDER BY applicationId, position").map { row in
                RegistryExport.Question(
                    applicationID: row["applicationId"], position: row["position"], text: row["text"],
                    salt: bytes(row, "salt") ?? [], hash: bytes(row, "hash") ?? [], iterations: row["iterations"])
            }
            export.codes = try Row.fetchAll(db, sql: "SELECT * FROM code ORDER BY id").map { row in
                RegistryExport.Code(
                    id: row["id"], applicationID: row["applicationId"], reference: row["reference"],
                    sealedAuthorization: bytes(row, "sealedAuthorization") ?? [], issuedAt: row["issuedAt"],
                    wrongReferences: row["wrongReferences"], used: row["used"], superseded: row["superseded"])
            }
            export.certificates = try Row.fetchAll(db, sql: "SELECT * FROM certificate ORDER BY issuedAt, serial").map { row in
                RegistryExport.Certificate(
                    serial: row["serial"], applicationID: row["applicationId"], der: bytes(row, "der") ?? [],
                    issuedAt: row["issuedAt"], revokedAt: row["revokedAt"], reason: row["reason"])
            }
            export.crls = try Row.fetchAll(db, sql: "SELECT * FROM crl ORDER BY number").map { row in
                RegistryExport.CRL(number: row["number"], thisUpdate: row["thisUpdate"], der: bytes(row, "der") ?? [])
            }
            export.audit = try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id").map { row in
                RegistryExport.Audit(
                    id: row["id"], at: row["at"], actor: row["actor"], event: row["event"], token: row["token"], detail: row["detail"])
            }
            export.settings = try Row.fetchAll(db, sql: "SELECT key, value FROM authority ORDER BY key").map { ($0["key"], $0["value"]) }
            export.outbox = try Row.fetchAll(db, sql: "SELECT * FROM outbox ORDER BY createdAt").map { row in
                RegistryExport.Mail(
                    id: row["id"], recipient: row["recipient"], message: bytes(row, "message") ?? [], createdAt: row["createdAt"],
                    deliveredAt: row["deliveredAt"], attempts: row["attempts"])
            }
            return export
        }
    }

    // MARK: - Senders

    package func recordSenderFailure(client: String, at now: Date, window: TimeInterval) async throws {
        try await immediate { db in
            try db.execute(sql: "DELETE FROM sender_failure WHERE at <= ?", arguments: [(now - window).timeIntervalSince1970])
            try db.execute(sql: "INSERT INTO sender_failure (client, at) VALUES (?, ?)", arguments: [client, now.timeIntervalSince1970])
        }
    }

    package func senderFailures(client: String, since: Date) async throws -> [Date] {
        try await read { db in
            try Double.fetchAll(
                db, sql: "SELECT at FROM sender_failure WHERE client = ? AND at > ? ORDER BY at",
                arguments: [client, since.timeIntervalSince1970]
            ).map(Date.init(timeIntervalSince1970:))
        }
    }

    // MARK: - Recovery requests

    package func enqueueRecoveryRequest(email: String, at now: Date) async throws {
        try await immediate { db in
            try db.execute(sql: "INSERT INTO recovery_request (email, requestedAt) VALUES (?, ?)", arguments: [email, now.timeIntervalSince1970])
        }
    }

    package func claimRecoveryRequests(at now: Date, lease: TimeInterval, limit: Int) async throws -> [RecoveryRequest] {
        try await immediate { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, email FROM recovery_request WHERE claimedUntil IS NULL OR claimedUntil < ? ORDER BY id LIMIT ?",
                arguments: [now.timeIntervalSince1970, max(1, limit)])
            for row in rows {
                try db.execute(
                    sql: "UPDATE recovery_request SET claimedUntil = ? WHERE id = ?",
                    arguments: [(now + lease).timeIntervalSince1970, row["id"] as Int64])
            }
            return rows.map { RecoveryRequest(id: $0["id"], email: $0["email"]) }
        }
    }

    package func finishRecoveryRequest(_ id: Int64) async throws {
        try await immediate { db in try Self.deleteRecoveryRequest(db, id) }
    }

    /// An answered recovery request leaves the queue (alone, or in the transaction of the change that answered it).
    private static func deleteRecoveryRequest(_ db: Database, _ id: Int64) throws {
        try db.execute(sql: "DELETE FROM recovery_request WHERE id = ?", arguments: [id])
    }

    // MARK: - Outbox

    package func claimMail(ids: [String]?, at now: Date, lease: TimeInterval, limit: Int) async throws -> [OutgoingMail] {
        try await immediate { db in
            var sql = "SELECT id, recipient, message FROM outbox WHERE deliveredAt IS NULL AND (claimedUntil IS NULL OR claimedUntil < ?)"
            var arguments: [any DatabaseValueConvertible] = [now.timeIntervalSince1970]
            if let ids {
                sql += " AND id IN (\(ids.map { _ in "?" }.joined(separator: ",")))"
                arguments += ids as [any DatabaseValueConvertible]
            }
            sql += " ORDER BY createdAt LIMIT ?"
            arguments.append(limit)
            let mails = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                OutgoingMail(id: row["id"], recipient: row["recipient"], message: Array(row["message"] as Data))
            }
            for mail in mails {
                try db.execute(
                    sql: "UPDATE outbox SET claimedUntil = ?, attempts = attempts + 1 WHERE id = ?",
                    arguments: [(now + lease).timeIntervalSince1970, mail.id])
            }
            return mails
        }
    }

    package func markDelivered(_ id: String, at now: Date) async throws {
        try await immediate { db in
            try db.execute(
                sql: "UPDATE outbox SET deliveredAt = ?, claimedUntil = NULL, message = X'' WHERE id = ?",
                arguments: [now.timeIntervalSince1970, id])
        }
    }

    package func releaseMail(_ id: String) async throws {
        try await immediate { db in try db.execute(sql: "UPDATE outbox SET claimedUntil = NULL WHERE id = ? AND deliveredAt IS NULL", arguments: [id])
        }
    }

    package func pendingMailCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE deliveredAt IS NULL") ?? 0 }
    }

    private static func enqueue(_ db: Database, _ mail: OutgoingMail, at now: Date) throws {
        try db.execute(
            sql: "INSERT INTO outbox (id, recipient, message, createdAt) VALUES (?, ?, ?, ?)",
            arguments: [mail.id, mail.recipient, Data(mail.message), now.timeIntervalSince1970])
    }

    // MARK: - SQL

    private static func latestCRL(_ db: Database) throws -> StoredCRL? {
        try Row.fetchOne(db, sql: "SELECT number, thisUpdate, der FROM crl ORDER BY number DESC LIMIT 1").map { row in
            StoredCRL(number: row["number"], thisUpdate: Date(timeIntervalSince1970: row["thisUpdate"]), der: Array(row["der"] as Data))
        }
    }

    /// Signs a CRL of every certificate revoked so far, numbered after the last, and stores it.
    private static func storeNewCRL(_ db: Database, at now: Date, sign: (Int, [CertificateRevocationList.Entry]) throws -> [UInt8]) throws -> [UInt8]
    {
        let number = (try Int.fetchOne(db, sql: "SELECT MAX(number) FROM crl") ?? 0) + 1
        let entries = try Row.fetchAll(
            db, sql: "SELECT serial, revokedAt, reason FROM certificate WHERE revokedAt IS NOT NULL ORDER BY revokedAt, serial"
        )
        .compactMap { row -> CertificateRevocationList.Entry? in
            guard let serial = Array(hex: row["serial"]) else { return nil }
            return CertificateRevocationList.Entry(
                serial: serial, revokedAt: Date(timeIntervalSince1970: row["revokedAt"]),
                reason: RevocationReason(rawValue: row["reason"] ?? 0) ?? .unspecified)
        }
        let der = try sign(number, entries)
        try db.execute(sql: "INSERT INTO crl (number, thisUpdate, der) VALUES (?, ?, ?)", arguments: [number, now.timeIntervalSince1970, Data(der)])
        return der
    }

    static let applicationSelect = """
        SELECT a.id, a.token, a.name, a.email, a.language, a.status, a.identityFailures, a.approvedAt,
               a.activatedAt, a.revokedAt, a.renewals, a.certificateSerial, a.certificateDER, a.activatedKeyDigest,
               a.recoveringSerial, a.recoveries, a.recoveryRequestedAt, a.recoveryReference, a.recoverySealedAuthorization,
               c.id AS codeID, c.reference, c.sealedAuthorization, c.issuedAt, c.wrongReferences, c.used
        FROM application a JOIN code c ON c.applicationId = a.id AND c.superseded = 0
        """

    private static let certificateSelect = """
        SELECT c.serial, c.applicationId, a.token, c.der, c.issuedAt, c.revokedAt, c.reason
        FROM certificate c JOIN application a ON a.id = c.applicationId
        """

    static func application(_ db: Database, token: ApplicationToken) throws -> ApplicationRow? {
        try Row.fetchOne(db, sql: applicationSelect + " WHERE a.token = ?", arguments: [token.value]).map(decode)
    }

    private static func token(_ text: String) throws -> ApplicationToken {
        do { return try ApplicationToken(parsing: text) } catch { throw AuthorityError(.storage, "the registry holds a damaged token") }
    }

    private static func decodeCertificate(_ row: Row) throws -> StoredCertificate {
        let revokedAt: Double? = row["revokedAt"]
        let reason: Int? = row["reason"]
        return StoredCertificate(
            serial: row["serial"], applicationID: row["applicationId"], token: try token(row["token"]), der: Array(row["der"] as Data),
            issuedAt: Date(timeIntervalSince1970: row["issuedAt"]), revokedAt: revokedAt.map(Date.init(timeIntervalSince1970:)),
            reason: reason.flatMap(RevocationReason.init(rawValue:)))
    }

    private static func decode(_ row: Row) throws -> ApplicationRow {
        let stored = StoredApplication(
            id: row["id"], token: row["token"], name: row["name"], email: row["email"], language: row["language"], status: row["status"],
            identityFailures: row["identityFailures"], approvedAt: row["approvedAt"], activatedAt: row["activatedAt"], revokedAt: row["revokedAt"],
            renewals: row["renewals"], certificateSerial: row["certificateSerial"],
            certificateDER: (row["certificateDER"] as Data?).map { Array($0) },
            activatedKeyDigest: (row["activatedKeyDigest"] as Data?).map { Array($0) }, recoveringSerial: row["recoveringSerial"],
            recoveries: row["recoveries"], recoveryRequestedAt: row["recoveryRequestedAt"], recoveryReference: row["recoveryReference"],
            recoverySealedAuthorization: (row["recoverySealedAuthorization"] as Data?).map { Array($0) }, codeID: row["codeID"],
            reference: row["reference"],
            sealedAuthorization: Array(row["sealedAuthorization"] as Data), issuedAt: row["issuedAt"], wrongReferences: row["wrongReferences"],
            used: row["used"])
        return try stored.decoded()
    }

    /// Stores the rule-bearing state of `row` back (application and its live codes).
    private static func save(_ db: Database, _ row: ApplicationRow) throws {
        let stored = StoredApplication(row)
        try db.execute(
            sql: """
                UPDATE application SET status = ?, identityFailures = ?, renewals = ?, activatedKeyDigest = ?,
                    activatedAt = ?, revokedAt = ?, certificateSerial = ?, certificateDER = ?, recoveringSerial = ?, recoveries = ?,
                    recoveryRequestedAt = ?, recoveryReference = ?, recoverySealedAuthorization = ?
                WHERE id = ?
                """,
            arguments: [
                stored.status, stored.identityFailures, stored.renewals, stored.activatedKeyDigest.map { Data($0) }, stored.activatedAt,
                stored.revokedAt, stored.certificateSerial, stored.certificateDER.map { Data($0) }, stored.recoveringSerial,
                stored.recoveries, stored.recoveryRequestedAt, stored.recoveryReference, stored.recoverySealedAuthorization.map { Data($0) }, row.id,
            ])
        try db.execute(
            sql: "UPDATE code SET wrongReferences = ?, used = ? WHERE id = ?",
            arguments: [row.state.codes.wrongReferences, row.state.codes.used, row.codeID])
    }

    /// Inserts a new live pair for `applicationID`; returns its id.
    private static func insertCodes(_ db: Database, applicationID: Int64, _ codes: NewCodes) throws -> Int64 {
        try db.execute(
            sql: "INSERT INTO code (applicationId, reference, sealedAuthorization, issuedAt) VALUES (?, ?, ?, ?)",
            arguments: [applicationID, codes.reference.digits, Data(codes.sealedAuthorization), codes.issuedAt.timeIntervalSince1970])
        return db.lastInsertedRowID
    }

    private static func questions(_ db: Database, applicationID: Int64) throws -> [StoredQuestion] {
        try Row.fetchAll(
            db, sql: "SELECT text, salt, hash, iterations FROM question WHERE applicationId = ? ORDER BY position",
            arguments: [applicationID]
        ).map { row in
            StoredQuestion(
                text: row["text"], hash: AnswerHash(salt: Array(row["salt"] as Data), hash: Array(row["hash"] as Data), iterations: row["iterations"])
            )
        }
    }

    private static func audit(_ db: Database, _ record: AuditRecord) throws {
        try db.execute(
            sql: "INSERT INTO audit (at, actor, event, token, detail) VALUES (?, ?, ?, ?, ?)",
            arguments: [record.at.timeIntervalSince1970, record.actor, record.event.rawValue, record.token?.formatted, record.detail])
    }
}
