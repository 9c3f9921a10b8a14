import Activation
import AuthorityInterface
import Foundation
import GRDB

/// The registry: applications, their security questions, their activation codes and the audit
/// log, in `DATA/registry.sqlite` (WAL). Every state change is one IMMEDIATE transaction, so
/// concurrent processes queue for the write lock instead of overwriting each other.
struct Registry: Sendable {
    let pool: DatabasePool

    /// Opens (creating and migrating if needed) the registry at `url`.
    /// Call while holding the data directory's setup lock: migrations are not safe to run concurrently.
    static func open(at url: URL) throws(AuthorityError) -> Registry {
        var configuration = Configuration()
        // A busy database (another process writing) is waited out, never reported as "database is locked".
        configuration.busyMode = .timeout(10)
        configuration.journalMode = .wal
        configuration.foreignKeysEnabled = true
        configuration.label = "Paraphe.registry"
        // Created 0600 before SQLite opens it: the -wal and -shm files then get the same mode.
        if try FileSystem.status(url) == nil {
            do {
                try FileSystem.createExclusive(url, bytes: [], mode: 0o600, code: .storage)
            } catch is FileExists {
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
            return Registry(pool: pool)
        } catch let error as DatabaseError {
            throw AuthorityError(.storage, "cannot open the registry (SQLite error \(error.resultCode.rawValue))")
        } catch {
            throw AuthorityError(.storage, "cannot open the registry")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
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
            try db.execute(sql: """
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
            try db.execute(sql: """
                ALTER TABLE application ADD COLUMN recoveringSerial TEXT;
                ALTER TABLE application ADD COLUMN recoveries TEXT NOT NULL DEFAULT '[]';
                CREATE INDEX application_email ON application(email COLLATE NOCASE);
                """)
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

    /// Rule refusals, authority errors and cancellation go through as they are; anything else
    /// becomes a storage error.
    static func passThrough(_ error: any Error, _ what: String) -> any Error {
        switch error {
        case is ActivationError, is AuthorityError, is CancellationError: error
        default: AuthorityError(.storage, what)
        }
    }

    /// A storage error naming the SQLite code only: GRDB messages can quote SQL or values.
    static func storageError(_ error: DatabaseError, _ what: String) -> AuthorityError {
        AuthorityError(.storage, "\(what) (SQLite error \(error.extendedResultCode.rawValue))")
    }

    // MARK: - Rows

    /// An application and its live codes, as stored.
    struct ApplicationRow: Sendable {
        var id: Int64
        var token: ApplicationToken
        var subscriber: Subscriber
        var state: ApplicationState
        var approvedAt: Date
        var activatedAt: Date?
        var certificateSerial: String?
        var certificateDER: [UInt8]?
        var codeID: Int64
        var sealedAuthorization: [UInt8]
    }

    private static let applicationSelect = """
        SELECT a.id, a.token, a.name, a.email, a.language, a.status, a.identityFailures, a.approvedAt,
               a.activatedAt, a.renewals, a.certificateSerial, a.certificateDER, a.activatedKeyDigest,
               c.id AS codeID, c.reference, c.sealedAuthorization, c.issuedAt, c.wrongReferences, c.used
        FROM application a JOIN code c ON c.applicationId = a.id AND c.superseded = 0
        """

    static func application(_ db: Database, token: ApplicationToken) throws -> ApplicationRow? {
        guard let row = try Row.fetchOne(db, sql: applicationSelect + " WHERE a.token = ?", arguments: [token.value]) else {
            return nil
        }
        return try decode(row)
    }

    /// Every application, in approval order.
    static func allApplications(_ db: Database) throws -> [ApplicationRow] {
        try Row.fetchAll(db, sql: applicationSelect + " ORDER BY a.id").map(decode)
    }

    private static func decode(_ row: Row) throws -> ApplicationRow {
        func damaged(_ what: String) -> AuthorityError {
            AuthorityError(.storage, "the registry holds a damaged \(what)")
        }
        let tokenText: String = row["token"]
        let referenceText: String = row["reference"]
        let token: ApplicationToken
        let reference: ReferenceNumber
        do {
            token = try ApplicationToken(parsing: tokenText)
            reference = try ReferenceNumber(parsing: referenceText)
        } catch {
            throw damaged("token or reference number")
        }
        guard let language = Language(rawValue: row["language"]) else { throw damaged("language") }
        guard let status = ApplicationStatus(rawValue: row["status"]) else { throw damaged("status") }
        let renewalsText: String = row["renewals"]
        guard let renewals = try? JSONDecoder().decode([Double].self, from: Data(renewalsText.utf8)) else {
            throw damaged("renewal history")
        }
        let digest: Data? = row["activatedKeyDigest"]
        let certificate: Data? = row["certificateDER"]
        let sealed: Data = row["sealedAuthorization"]
        let activatedAt: Double? = row["activatedAt"]
        let codes = CodesState(
            reference: reference,
            issuedAt: Date(timeIntervalSince1970: row["issuedAt"]),
            wrongReferences: row["wrongReferences"],
            used: row["used"])
        let state = ApplicationState(
            status: status,
            identityFailures: row["identityFailures"],
            codes: codes,
            renewals: renewals.map(Date.init(timeIntervalSince1970:)),
            activatedKeyDigest: digest.map { Array($0) })
        return ApplicationRow(
            id: row["id"],
            token: token,
            subscriber: Subscriber(name: row["name"], email: row["email"], language: language),
            state: state,
            approvedAt: Date(timeIntervalSince1970: row["approvedAt"]),
            activatedAt: activatedAt.map(Date.init(timeIntervalSince1970:)),
            certificateSerial: row["certificateSerial"],
            certificateDER: certificate.map { Array($0) },
            codeID: row["codeID"],
            sealedAuthorization: Array(sealed))
    }

    /// Stores the rule-bearing state of `row` back (application and its live codes).
    static func save(_ db: Database, _ row: ApplicationRow) throws {
        let renewals = try JSONEncoder().encode(row.state.renewals.map(\.timeIntervalSince1970))
        try db.execute(
            sql: """
                UPDATE application SET status = ?, identityFailures = ?, renewals = ?, activatedKeyDigest = ?,
                    activatedAt = ?, certificateSerial = ?, certificateDER = ?
                WHERE id = ?
                """,
            arguments: [
                row.state.status.rawValue, row.state.identityFailures, String(decoding: renewals, as: UTF8.self),
                row.state.activatedKeyDigest.map { Data($0) }, row.activatedAt?.timeIntervalSince1970,
                row.certificateSerial, row.certificateDER.map { Data($0) }, row.id,
            ])
        try db.execute(
            sql: "UPDATE code SET wrongReferences = ?, used = ? WHERE id = ?",
            arguments: [row.state.codes.wrongReferences, row.state.codes.used, row.codeID])
    }

    /// True if `reference` is already carried by live codes.
    static func referenceIsLive(_ db: Database, _ reference: ReferenceNumber) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM code WHERE reference = ? AND superseded = 0", arguments: [reference.digits]) ?? false
    }

    /// The application whose live codes carry `reference` (unique among live codes).
    static func tokenOfLiveReference(_ db: Database, _ reference: ReferenceNumber) throws -> ApplicationToken? {
        let text = try String.fetchOne(
            db, sql: "SELECT a.token FROM code c JOIN application a ON a.id = c.applicationId WHERE c.reference = ? AND c.superseded = 0",
            arguments: [reference.digits])
        return try text.map { text throws(AuthorityError) in
            do { return try ApplicationToken(parsing: text) } catch { throw AuthorityError(.storage, "the registry holds a damaged token") }
        }
    }

    /// Records a certificate issued to an application.
    static func recordCertificate(_ db: Database, serial: String, applicationID: Int64, der: [UInt8], at now: Date) throws {
        try db.execute(
            sql: "INSERT INTO certificate (serial, applicationId, der, issuedAt) VALUES (?, ?, ?, ?)",
            arguments: [serial, applicationID, Data(der), now.timeIntervalSince1970])
    }

    static func tokenExists(_ db: Database, _ token: ApplicationToken) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM application WHERE token = ?", arguments: [token.value]) ?? false
    }

    /// Inserts a new live pair for `applicationID`; returns its id.
    static func insertCodes(_ db: Database, applicationID: Int64, reference: ReferenceNumber, sealed: [UInt8], issuedAt: Date) throws -> Int64 {
        try db.execute(
            sql: "INSERT INTO code (applicationId, reference, sealedAuthorization, issuedAt) VALUES (?, ?, ?, ?)",
            arguments: [applicationID, reference.digits, Data(sealed), issuedAt.timeIntervalSince1970])
        return db.lastInsertedRowID
    }

    static func questions(_ db: Database, applicationID: Int64) throws -> [(text: String, hash: AnswerHash)] {
        try Row.fetchAll(
            db, sql: "SELECT text, salt, hash, iterations FROM question WHERE applicationId = ? ORDER BY position",
            arguments: [applicationID]
        ).map { row in
            let salt: Data = row["salt"]
            let hash: Data = row["hash"]
            return (row["text"], AnswerHash(salt: Array(salt), hash: Array(hash), iterations: row["iterations"]))
        }
    }

    // MARK: - Audit

    static func audit(_ db: Database, at: Date, actor: String, event: AuditEvent, token: ApplicationToken?, detail: String = "") throws {
        try db.execute(
            sql: "INSERT INTO audit (at, actor, event, token, detail) VALUES (?, ?, ?, ?, ?)",
            arguments: [at.timeIntervalSince1970, actor, event.rawValue, token?.formatted, detail])
    }

    static func auditEntries(_ db: Database) throws -> [AuditEntry] {
        try Row.fetchAll(db, sql: "SELECT id, at, actor, event, token, detail FROM audit ORDER BY id").map { row in
            AuditEntry(
                id: row["id"], at: Date(timeIntervalSince1970: row["at"]), actor: row["actor"], event: row["event"],
                token: row["token"], detail: row["detail"])
        }
    }
}

/// What the audit log records.
enum AuditEvent: String, Sendable {
    case approved, identityFailed, identityVerified, identityLocked, codesRenewed, referenceRejected
    case certificateIssued, certificateReissued, certificateConfirmed, certificateUpdated, certificateRevoked, recoveryRequested, recoveryRefused, recoveryCompleted, revoked, caCreated, tlsCertificateIssued
}
