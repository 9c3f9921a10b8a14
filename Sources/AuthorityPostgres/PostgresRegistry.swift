import Activation
import Authority
import AuthorityInterface
import Foundation
import Logging
import PostgresNIO
import RevocationList
import _ConnectionPoolModule

/// The registry of a fleet: every `paraphe-authority` instance of a certification authority on one
/// PostgreSQL database.
///
/// The same rules as on one machine, exact across instances: each change is one transaction that holds
/// the application's row (`SELECT … FOR UPDATE`) while the rule runs, a live reference number is
/// unique by a partial unique index (a collision rolls back and is drawn again), and CRL numbers are
/// handed out under a transaction-scoped advisory lock. No in-process lock decides anything. The
/// schema is created and migrated by the program (`paraphe_schema`), under an advisory lock, so
/// instances starting together migrate once.
package final class PostgresRegistry: RegistryStore {
    package let location: String
    let client: PostgresClient
    private let running: Task<Void, Never>
    private let logger: Logger
    private let leases: Leases

    /// Advisory lock keys (any two constants of this program's own).
    private static let migrationLock: Int64 = 0x5041_5241_0001
    private static let crlLock: Int64 = 0x5041_5241_0002

    private init(location: String, client: PostgresClient, leases: Leases, running: Task<Void, Never>, logger: Logger) {
        self.location = location
        self.client = client
        self.leases = leases
        self.running = running
        self.logger = logger
    }

    /// Connects (a pool of up to `maximumConnections`), creates or migrates the schema, and returns the registry.
    package static func open(_ database: PostgresLocation, password: String?, maximumConnections: Int = 16) async throws -> PostgresRegistry {
        var configuration: PostgresClient.Configuration
        switch database.endpoint {
        case .tcp(let host, let port):
            configuration = PostgresClient.Configuration(
                host: host, port: port, username: database.user, password: password, database: database.database, tls: try database.tls())
        case .socket(let path):
            configuration = PostgresClient.Configuration(
                unixSocketPath: path, username: database.user, password: password, database: database.database)
        }
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(10)
        var logger = Logger(label: "paraphe.registry")
        logger.logLevel = .critical  // postgres-nio's own messages can quote SQL and values
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let leases = Leases(client: client)
        let running = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { await client.run() }
                group.addTask { await leases.watch() }
            }
        }
        let registry = PostgresRegistry(location: database.description, client: client, leases: leases, running: running, logger: logger)
        do {
            try await registry.migrate()
        } catch {
            await registry.close()
            throw error
        }
        return registry
    }

    /// Closes every connection.
    package func close() async {
        running.cancel()
        _ = await running.value
    }

    // MARK: - Schema

    /// The schema, in versions applied in order, each once; a version is a list of statements (the extended
    /// protocol runs one statement a query).
    static let migrations: [(version: String, statements: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE application (
                id BIGSERIAL PRIMARY KEY,
                token TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                email TEXT NOT NULL,
                language TEXT NOT NULL,
                status TEXT NOT NULL,
                identity_failures BIGINT NOT NULL DEFAULT 0,
                approved_at DOUBLE PRECISION NOT NULL,
                activated_at DOUBLE PRECISION,
                revoked_at DOUBLE PRECISION,
                renewals TEXT NOT NULL DEFAULT '[]',
                certificate_serial TEXT,
                certificate_der BYTEA,
                activated_key_digest BYTEA,
                recovering_serial TEXT,
                recoveries TEXT NOT NULL DEFAULT '[]'
                )
                """,
                """
                CREATE INDEX application_email ON application (lower(email))
                """,
                """
                CREATE TABLE question (
                application_id BIGINT NOT NULL REFERENCES application(id),
                position BIGINT NOT NULL,
                text TEXT NOT NULL,
                salt BYTEA NOT NULL,
                hash BYTEA NOT NULL,
                iterations BIGINT NOT NULL,
                PRIMARY KEY (application_id, position)
                )
                """,
                """
                CREATE TABLE code (
                id BIGSERIAL PRIMARY KEY,
                application_id BIGINT NOT NULL REFERENCES application(id),
                reference TEXT NOT NULL,
                sealed_authorization BYTEA NOT NULL,
                issued_at DOUBLE PRECISION NOT NULL,
                wrong_references BIGINT NOT NULL DEFAULT 0,
                used BOOLEAN NOT NULL DEFAULT FALSE,
                superseded BOOLEAN NOT NULL DEFAULT FALSE
                )
                """,
                """
                CREATE UNIQUE INDEX code_live_reference ON code (reference) WHERE NOT superseded
                """,
                """
                CREATE UNIQUE INDEX code_live_application ON code (application_id) WHERE NOT superseded
                """,
                """
                CREATE TABLE certificate (
                serial TEXT PRIMARY KEY,
                application_id BIGINT NOT NULL REFERENCES application(id),
                der BYTEA NOT NULL,
                issued_at DOUBLE PRECISION NOT NULL,
                revoked_at DOUBLE PRECISION,
                reason BIGINT
                )
                """,
                """
                CREATE INDEX certificate_application ON certificate (application_id)
                """,
                """
                CREATE INDEX certificate_revoked ON certificate (revoked_at) WHERE revoked_at IS NOT NULL
                """,
                """
                CREATE TABLE crl (
                number BIGINT PRIMARY KEY,
                this_update DOUBLE PRECISION NOT NULL,
                der BYTEA NOT NULL
                )
                """,
                """
                CREATE TABLE audit (
                id BIGSERIAL PRIMARY KEY,
                at DOUBLE PRECISION NOT NULL,
                actor TEXT NOT NULL,
                event TEXT NOT NULL,
                token TEXT,
                detail TEXT NOT NULL DEFAULT ''
                )
                """,
                """
                CREATE INDEX audit_token ON audit (token)
                """,
                """
                CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$
                """,
                """
                CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
                FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()
                """,
                """
                CREATE TABLE authority (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
                )
                """,
            ]
        ),
        (
            "v2-outbox",
            [
                """
                CREATE TABLE outbox (
                    id TEXT PRIMARY KEY,
                    recipient TEXT NOT NULL,
                    message BYTEA NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    claimed_until DOUBLE PRECISION,
                    delivered_at DOUBLE PRECISION,
                    attempts BIGINT NOT NULL DEFAULT 0
                )
                """,
                "CREATE INDEX outbox_pending ON outbox (created_at) WHERE delivered_at IS NULL",
            ]
        ),
        (
            "v3-senders",
            [
                """
                CREATE TABLE sender_failure (
                    client TEXT NOT NULL,
                    at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX sender_failure_client ON sender_failure (client, at)",
                "CREATE INDEX sender_failure_at ON sender_failure (at)",
            ]
        ),
        (
            "v4-pending-recovery",
            [
                "ALTER TABLE application ADD COLUMN recovery_requested_at DOUBLE PRECISION",
                "ALTER TABLE application ADD COLUMN recovery_reference TEXT",
                "ALTER TABLE application ADD COLUMN recovery_sealed_authorization BYTEA",
                """
                CREATE TABLE recovery_request (
                    id BIGSERIAL PRIMARY KEY,
                    email TEXT NOT NULL,
                    requested_at DOUBLE PRECISION NOT NULL
                )
                """,
            ]
        ),
        // A recovery request leaves the queue when answered, not when taken: a handler that dies leaves it to the next.
        ("v5-recovery-request-lease", ["ALTER TABLE recovery_request ADD COLUMN claimed_until DOUBLE PRECISION"]),
    ]

    /// The migrations this program knows, applied in order, each once, under an advisory lock.
    func migrate() async throws {
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: self.logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS paraphe_schema (version TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)", logger: self.logger)
            var applied = Set<String>()
            for try await version in try await connection.query("SELECT version FROM paraphe_schema", logger: self.logger).decode(String.self) {
                applied.insert(version)
            }
            let known = Set(Self.migrations.map(\.version))
            if let unknown = applied.subtracting(known).sorted().first {
                throw AuthorityError(
                    .storage, "the database \(self.location) was migrated by a newer Paraphe (schema \(unknown)); upgrade this instance")
            }
            for (version, statements) in Self.migrations where !applied.contains(version) {
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await connection.query(
                    "INSERT INTO paraphe_schema (version, applied_at) VALUES (\(version), \(Date().timeIntervalSince1970))", logger: self.logger)
            }
        }
    }

    /// The schema versions applied, in order.
    package func schemaVersions() async throws -> [String] {
        try await run { connection in
            var versions: [String] = []
            for try await version in try await connection.query("SELECT version FROM paraphe_schema ORDER BY version", logger: self.logger).decode(
                String.self)
            {
                versions.append(version)
            }
            return versions
        }
    }

    // MARK: - Transactions

    /// One transaction on a pooled connection: committed when `body` returns, rolled back when it throws.
    ///
    /// A unique violation becomes `RegistryCollision`; other database errors a storage error that names
    /// the SQLSTATE only (a server message can quote values).
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await leases.run { connection in
                try await connection.query("BEGIN", logger: self.logger)
                do {
                    let result = try await body(connection)
                    try await connection.query("COMMIT", logger: self.logger)
                    return result
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: self.logger)
                    throw error
                }
            }
        } catch {
            throw Self.mapped(error, "registry update failed")
        }
    }

    /// One statement or a read-only snapshot on a pooled connection.
    ///
    /// `failure`: what a failure says was under way (a lone statement that writes says so).
    func run<T: Sendable>(failure: String = "registry read failed", _ body: @escaping @Sendable (PostgresConnection) async throws -> T)
        async throws -> T
    {
        do {
            return try await leases.run(body)
        } catch {
            throw Self.mapped(error, failure)
        }
    }

    static func mapped(_ error: any Error, _ what: String) -> any Error {
        switch error {
        case is ActivationError, is AuthorityError, is CancellationError, is RegistryCollision:
            return error
        case is ConnectionLost:
            return AuthorityError(.unavailable, "\(what): the database closed the connection")
        case let error as LeaseNotGranted:
            return AuthorityError(.unavailable, "\(what): no connection to the database within \(error.waited.components.seconds) s")
        case is ConnectionPoolError:
            return AuthorityError(.unavailable, "\(what): the database has been unreachable for a minute")
        case let error as PSQLError:
            if let state = error.serverInfo?[.sqlState] {
                if state == "23505" { return RegistryCollision() }
                // Class 08 (connection exception) and 57P01–57P03 (shutting down, crashed, starting up): the database
                // is away for a moment, not wrong.
                if state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state) {
                    return AuthorityError(.unavailable, "\(what) (PostgreSQL SQLSTATE \(state))")
                }
                return AuthorityError(.storage, "\(what) (PostgreSQL SQLSTATE \(state))")
            }
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
                return AuthorityError(.unavailable, "\(what): the database cannot be reached (\(error.code.description))")
            default:
                return AuthorityError(.storage, "\(what): the database answered in a way this program does not expect (\(error.code.description))")
            }
        default:
            return AuthorityError(.storage, what)
        }
    }

    // MARK: - Reads

    package func application(token: ApplicationToken) async throws -> ApplicationRow? {
        try await run { connection in try await self.application(connection, token: token, lock: false) }
    }

    package func applicationWithQuestions(token: ApplicationToken) async throws -> (ApplicationRow, [StoredQuestion])? {
        try await run { connection in
            // One round trip (step 1's overview and every identity check start here): the application on each of
            // its question rows, in order.
            let rows = try await connection.execute(Prepared<ApplicationWithQuestions> { $0.append(token.value) }, logger: self.logger)
            var application: ApplicationRow?
            var questions: [StoredQuestion] = []
            for try await row in rows {
                if application == nil { application = try Self.decode(row) }
                let cells = PostgresRandomAccessRow(row)
                guard let text = try cells["question_text"].decode(String?.self) else { continue }
                questions.append(
                    StoredQuestion(
                        text: text,
                        hash: AnswerHash(
                            salt: Array(try cells["question_salt"].decode(Data.self)), hash: Array(try cells["question_hash"].decode(Data.self)),
                            iterations: try cells["question_iterations"].decode(Int.self))))
            }
            return application.map { ($0, questions) }
        }
    }

    package func tokenOfLiveReference(_ reference: ReferenceNumber) async throws -> ApplicationToken? {
        try await run { connection in
            let rows = try await connection.execute(Prepared<LiveReference> { $0.append(reference.digits) }, logger: self.logger)
            for try await row in rows { return try Self.token(try row.decode(String.self)) }
            return nil
        }
    }

    package func recoveryCandidate(email: String) async throws -> ApplicationToken? {
        try await run { connection in
            let rows = try await connection.query(
                """
                SELECT token FROM application WHERE lower(email) = lower(\(email))
                AND (status = \(ApplicationStatus.activated.rawValue) OR (status = \(ApplicationStatus.approved.rawValue) AND recovering_serial IS NOT NULL))
                ORDER BY activated_at DESC NULLS LAST LIMIT 1
                """, logger: self.logger)
            for try await token in rows.decode(String.self) { return try Self.token(token) }
            return nil
        }
    }

    package func certificate(serial: String) async throws -> StoredCertificate? {
        try await run { connection in
            try await self.certificates(connection, "WHERE c.serial = \(serial)").first
        }
    }

    package func latestCRLVersion() async throws -> (number: Int, thisUpdate: Date)? {
        try await run { connection in
            for try await (number, thisUpdate) in try await connection.query(
                "SELECT number, this_update FROM crl ORDER BY number DESC LIMIT 1", logger: self.logger
            ).decode((Int, Double).self) {
                return (number, Date(timeIntervalSince1970: thisUpdate))
            }
            return nil
        }
    }

    package func latestCRL() async throws -> StoredCRL? {
        try await run { connection in try await self.latestCRL(connection) }
    }

    package func allApplications() async throws -> [ApplicationRow] {
        try await run { connection in
            var rows: [ApplicationRow] = []
            for try await row in try await connection.query("\(unescaped: Self.applicationSelect) ORDER BY a.id", logger: self.logger) {
                rows.append(try Self.decode(row))
            }
            return rows
        }
    }

    package func auditEntries() async throws -> [AuditEntry] {
        try await run { connection in
            var entries: [AuditEntry] = []
            let rows = try await connection.query("SELECT id, at, actor, event, token, detail FROM audit ORDER BY id", logger: self.logger)
            for try await (id, at, actor, event, token, detail) in rows.decode((Int64, Double, String, String, String?, String).self) {
                entries.append(AuditEntry(id: id, at: Date(timeIntervalSince1970: at), actor: actor, event: event, token: token, detail: detail))
            }
            return entries
        }
    }

    package func recordedCAFingerprint() async throws -> String? {
        try await run { connection in
            for try await value in try await connection.query("SELECT value FROM authority WHERE key = 'ca-fingerprint'", logger: self.logger).decode(
                String.self)
            {
                return value
            }
            return nil
        }
    }

    // MARK: - Changes

    package func insertApplication(_ application: NewApplication) async throws -> Bool {
        do {
            return try await transaction { connection in
                let subscriber = application.subscriber
                let rows = try await connection.query(
                    """
                    INSERT INTO application (token, name, email, language, status, identity_failures, approved_at)
                    VALUES (\(application.token.value), \(subscriber.name), \(subscriber.email), \(subscriber.language.rawValue),
                            \(application.state.status.rawValue), \(application.state.identityFailures), \(application.approvedAt.timeIntervalSince1970))
                    RETURNING id
                    """, logger: self.logger)
                var id: Int64?
                for try await value in rows.decode(Int64.self) { id = value }
                guard let id else { throw AuthorityError(.storage, "the new application got no id") }
                for (position, question) in application.questions.enumerated() {
                    try await connection.query(
                        """
                        INSERT INTO question (application_id, position, text, salt, hash, iterations)
                        VALUES (\(id), \(position), \(question.text), \(Data(question.hash.salt)), \(Data(question.hash.hash)), \(question.hash.iterations))
                        """, logger: self.logger)
                }
                let codes = application.state.codes
                _ = try await self.insertCodes(
                    connection, applicationID: id,
                    NewCodes(
                        reference: codes.reference, sealedAuthorization: application.sealedAuthorization, issuedAt: codes.issuedAt))
                try await self.audit(connection, application.audit)
                if let mail = application.mail { try await self.enqueue(connection, mail, at: application.audit.at) }
                return true
            }
        } catch is RegistryCollision {
            return false
        }
    }

    package func update<T: Sendable>(
        token: ApplicationToken, certificates: Bool, _ body: @escaping @Sendable (inout ApplicationRow) throws -> RegistryChange<T>
    ) async throws -> T {
        try await transaction { connection in
            guard var row = try await self.application(connection, token: token, lock: true) else { throw ActivationError(.unknownApplication) }
            if certificates {
                row.certificates = try await self.certificates(connection, "WHERE c.application_id = \(row.id) ORDER BY c.issued_at")
            }
            let change = try body(&row)
            if let codes = change.newCodes {
                try await connection.query("UPDATE code SET superseded = TRUE WHERE id = \(row.codeID)", logger: self.logger)
                row.codeID = try await self.insertCodes(connection, applicationID: row.id, codes)
            }
            if change.save || change.newCodes != nil { try await self.save(connection, row) }
            if let certificate = change.certificate {
                _ = try await connection.execute(
                    Prepared<InsertCertificate> { values in
                        values.append(certificate.serial)
                        values.append(row.id)
                        try values.append(Data(certificate.der))
                        values.append(certificate.at.timeIntervalSince1970)
                    }, logger: self.logger)
            }
            for revocation in change.revocations {
                try await connection.query(
                    """
                    UPDATE certificate SET revoked_at = \(revocation.at.timeIntervalSince1970), reason = \(revocation.reason.rawValue)
                    WHERE serial = \(revocation.serial) AND application_id = \(row.id) AND revoked_at IS NULL
                    """, logger: self.logger)
            }
            for record in change.audit { try await self.audit(connection, record) }
            if let mail = change.mail { try await self.enqueue(connection, mail, at: change.audit.first?.at ?? Date()) }
            if let request = change.answersRecoveryRequest { try await self.deleteRecoveryRequest(connection, request) }
            if let crl = change.newCRL { _ = try await self.storeNewCRL(connection, at: crl.at, sign: crl.sign) }
            return change.result
        }
    }

    /// The change `body` makes to `basis`, written in one statement if the application's row is still the version read
    /// (its `xmin`: a new one for every change, since every change of the codes saves the application too); else `update`.
    ///
    /// The statement's `UPDATE … WHERE xmin = version` waits for a concurrent writer of the row and then re-checks the
    /// row as that writer left it, so two requests from one version cannot both write: the second finds no row and
    /// takes the lock, like any other `update`. A change that writes no row is checked against the version in the same
    /// statement that appends its audit row.
    package func update<T: Sendable>(
        token: ApplicationToken, basis: ApplicationRow, _ body: @escaping @Sendable (inout ApplicationRow) throws -> RegistryChange<T>
    ) async throws -> T {
        var row = basis
        if let version = basis.version, basis.token == token, let change = try? body(&row), change.newCodes == nil, change.revocations.isEmpty,
            change.newCRL == nil, change.mail == nil, change.answersRecoveryRequest == nil, change.audit.count <= 1,
            change.save || change.certificate == nil
        {
            let written = try await run(failure: "registry update failed") { [row] connection in
                try await self.writeIfUnchanged(connection, row, version: version, change: change)
            }
            if written { return change.result }
        }
        return try await update(token: token, certificates: false, body)
    }

    private func writeIfUnchanged<T>(_ connection: PostgresConnection, _ row: ApplicationRow, version: String, change: RegistryChange<T>)
        async throws -> Bool
    {
        let audit = change.audit.first
        if change.save {
            let stored = StoredApplication(row)
            return try await Self.oneCount(
                connection.execute(
                    Prepared<SaveIfUnchanged> { values in
                        try Self.bindSave(&values, stored, row)
                        values.append(version)
                        values.append(change.certificate?.serial)
                        try values.append(change.certificate.map { Data($0.der) })
                        values.append(change.certificate?.at.timeIntervalSince1970)
                        Self.bindAudit(&values, audit)
                    }, logger: logger))
        } else {
            return try await Self.oneCount(
                connection.execute(
                    Prepared<AuditIfUnchanged> { values in
                        values.append(row.id)
                        values.append(version)
                        Self.bindAudit(&values, audit)
                    }, logger: logger))
        }
    }

    /// Whether the statement's one row, a count, is 1.
    private static func oneCount<Rows: AsyncSequence>(_ rows: Rows) async throws -> Bool where Rows.Element == PostgresRow {
        for try await row in rows { return try row.decode(Int.self) == 1 }
        return false
    }

    package func appendAudit(_ record: AuditRecord) async throws {
        // One statement commits on its own: no BEGIN/COMMIT round trips.
        try await run(failure: "registry update failed") { connection in try await self.audit(connection, record) }
    }

    package func recordCAFingerprint(_ fingerprint: String, audit: AuditRecord) async throws -> String {
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: self.logger)
            for try await value in try await connection.query("SELECT value FROM authority WHERE key = 'ca-fingerprint'", logger: self.logger).decode(
                String.self)
            {
                return value
            }
            try await connection.query("INSERT INTO authority (key, value) VALUES ('ca-fingerprint', \(fingerprint))", logger: self.logger)
            try await self.audit(connection, audit)
            return fingerprint
        }
    }

    package func currentCRL(
        at now: Date, maximumAge: TimeInterval, sign: @escaping @Sendable (Int, [CertificateRevocationList.Entry]) throws -> [UInt8]
    ) async throws -> (der: [UInt8], fresh: Bool) {
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.crlLock))", logger: self.logger)
            if let latest = try await self.latestCRL(connection), now.timeIntervalSince(latest.thisUpdate) < maximumAge { return (latest.der, false) }
            return (try await self.storeNewCRL(connection, at: now, sign: sign), true)
        }
    }

    // MARK: - Moving up from one machine

    /// Rows per table.
    package func counts() async throws -> [String: Int] {
        try await run { connection in
            var counts: [String: Int] = [:]
            for table in ["application", "question", "code", "certificate", "crl", "audit", "authority", "outbox"] {
                for try await count in try await connection.query("SELECT count(*) FROM \(unescaped: table)", logger: self.logger).decode(Int.self) {
                    counts[table] = count
                }
            }
            return counts
        }
    }

    /// Copies a single machine's registry in, keeping every id, in one transaction; refused unless this database
    /// holds no application yet.
    package func importing(_ export: RegistryExport) async throws {
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: self.logger)
            for try await count in try await connection.query("SELECT count(*) FROM application", logger: self.logger).decode(Int.self)
            where count > 0 {
                throw AuthorityError(.badRequest, "the database \(self.location) already holds \(count) applications; migrate into an empty one")
            }
            for try await key in try await connection.query("SELECT key FROM authority", logger: self.logger).decode(String.self) {
                throw AuthorityError(.badRequest, "the database \(self.location) is already set up for a CA (\(key)); migrate into an empty one")
            }
            for row in export.applications {
                try await connection.query(
                    """
                    INSERT INTO application (id, token, name, email, language, status, identity_failures, approved_at, activated_at, revoked_at,
                        renewals, certificate_serial, certificate_der, activated_key_digest, recovering_serial, recoveries,
                        recovery_requested_at, recovery_reference, recovery_sealed_authorization)
                    VALUES (\(row.id), \(row.token), \(row.name), \(row.email), \(row.language), \(row.status), \(row.identityFailures),
                        \(row.approvedAt), \(row.activatedAt), \(row.revokedAt), \(row.renewals), \(row.certificateSerial),
                        \(row.certificateDER.map { Data($0) }), \(row.activatedKeyDigest.map { Data($0) }), \(row.recoveringSerial), \(row.recoveries),
                        \(row.recoveryRequestedAt), \(row.recoveryReference), \(row.recoverySealedAuthorization.map { Data($0) }))
                    """, logger: self.logger)
            }
            for row in export.questions {
                try await connection.query(
                    """
                    INSERT INTO question (application_id, position, text, salt, hash, iterations)
                    VALUES (\(row.applicationID), \(row.position), \(row.text), \(Data(row.salt)), \(Data(row.hash)), \(row.iterations))
                    """, logger: self.logger)
            }
            for row in export.codes {
                try await connection.query(
                    """
                    INSERT INTO code (id, application_id, reference, sealed_authorization, issued_at, wrong_references, used, superseded)
                    VALUES (\(row.id), \(row.applicationID), \(row.reference), \(Data(row.sealedAuthorization)), \(row.issuedAt),
                        \(row.wrongReferences), \(row.used), \(row.superseded))
                    """, logger: self.logger)
            }
            for row in export.certificates {
                try await connection.query(
                    """
                    INSERT INTO certificate (serial, application_id, der, issued_at, revoked_at, reason)
                    VALUES (\(row.serial), \(row.applicationID), \(Data(row.der)), \(row.issuedAt), \(row.revokedAt), \(row.reason))
                    """, logger: self.logger)
            }
            for row in export.crls {
                try await connection.query(
                    "INSERT INTO crl (number, this_update, der) VALUES (\(row.number), \(row.thisUpdate), \(Data(row.der)))", logger: self.logger)
            }
            for row in export.audit {
                try await connection.query(
                    """
                    INSERT INTO audit (id, at, actor, event, token, detail)
                    VALUES (\(row.id), \(row.at), \(row.actor), \(row.event), \(row.token), \(row.detail))
                    """, logger: self.logger)
            }
            for (key, value) in export.settings {
                try await connection.query("INSERT INTO authority (key, value) VALUES (\(key), \(value))", logger: self.logger)
            }
            for row in export.outbox {
                try await connection.query(
                    """
                    INSERT INTO outbox (id, recipient, message, created_at, delivered_at, attempts)
                    VALUES (\(row.id), \(row.recipient), \(Data(row.message)), \(row.createdAt), \(row.deliveredAt), \(row.attempts))
                    """, logger: self.logger)
            }
            // The sequences go on after the ids copied.
            for table in ["application", "code", "audit"] {
                try await connection.query(
                    "SELECT setval(pg_get_serial_sequence('\(unescaped: table)', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM \(unescaped: table)",
                    logger: self.logger)
            }
        }
    }

    // MARK: - Senders

    package func recordSenderFailure(client: String, at now: Date, window: TimeInterval) async throws {
        try await transaction { connection in
            try await connection.query("DELETE FROM sender_failure WHERE at <= \((now - window).timeIntervalSince1970)", logger: self.logger)
            try await connection.query(
                "INSERT INTO sender_failure (client, at) VALUES (\(client), \(now.timeIntervalSince1970))", logger: self.logger)
        }
    }

    package func senderFailures(client: String, since: Date) async throws -> [Date] {
        try await run { connection in
            var instants: [Date] = []
            let rows = try await connection.execute(
                Prepared<SenderFailures> {
                    $0.append(client)
                    $0.append(since.timeIntervalSince1970)
                }, logger: self.logger)
            for try await row in rows { instants.append(Date(timeIntervalSince1970: try row.decode(Double.self))) }
            return instants
        }
    }

    // MARK: - Recovery requests

    package func enqueueRecoveryRequest(email: String, at now: Date) async throws {
        _ = try await run(failure: "registry update failed") { connection in
            try await connection.query(
                "INSERT INTO recovery_request (email, requested_at) VALUES (\(email), \(now.timeIntervalSince1970))",
                logger: self.logger)
        }
    }

    package func claimRecoveryRequests(at now: Date, lease: TimeInterval, limit: Int) async throws -> [RecoveryRequest] {
        try await run(failure: "registry update failed") { connection in
            // One statement: each instance leases requests no other holds (SKIP LOCKED); answering one removes it.
            let rows = try await connection.query(
                """
                UPDATE recovery_request SET claimed_until = \((now + lease).timeIntervalSince1970)
                WHERE id IN (
                    SELECT id FROM recovery_request WHERE claimed_until IS NULL OR claimed_until < \(now.timeIntervalSince1970)
                    ORDER BY id LIMIT \(max(1, limit)) FOR UPDATE SKIP LOCKED)
                RETURNING id, email
                """, logger: self.logger)
            var requests: [RecoveryRequest] = []
            for try await (id, email) in rows.decode((Int64, String).self) { requests.append(RecoveryRequest(id: id, email: email)) }
            return requests.sorted { $0.id < $1.id }
        }
    }

    package func finishRecoveryRequest(_ id: Int64) async throws {
        try await run(failure: "registry update failed") { connection in try await self.deleteRecoveryRequest(connection, id) }
    }

    /// An answered recovery request leaves the queue (alone, or in the transaction of the change that answered it).
    private func deleteRecoveryRequest(_ connection: PostgresConnection, _ id: Int64) async throws {
        try await connection.query("DELETE FROM recovery_request WHERE id = \(id)", logger: self.logger)
    }

    // MARK: - Outbox

    package func claimMail(ids: [String]?, at now: Date, lease: TimeInterval, limit: Int) async throws -> [OutgoingMail] {
        try await transaction { connection in
            // SKIP LOCKED: instances claiming at once each take other emails, none waits.
            let until = (now + lease).timeIntervalSince1970
            let seconds = now.timeIntervalSince1970
            let limit = max(1, limit)
            let query: PostgresQuery =
                if let ids {
                    """
                    UPDATE outbox SET claimed_until = \(until), attempts = attempts + 1
                    WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until < \(seconds))
                        AND id = ANY(\(ids)) ORDER BY created_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                    RETURNING id, recipient, message
                    """
                } else {
                    """
                    UPDATE outbox SET claimed_until = \(until), attempts = attempts + 1
                    WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until < \(seconds))
                        ORDER BY created_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                    RETURNING id, recipient, message
                    """
                }
            var mails: [OutgoingMail] = []
            for try await (id, recipient, message) in try await connection.query(query, logger: self.logger).decode((String, String, Data).self) {
                mails.append(OutgoingMail(id: id, recipient: recipient, message: Array(message)))
            }
            return mails
        }
    }

    package func markDelivered(_ id: String, at now: Date) async throws {
        _ = try await transaction { connection in
            try await connection.query(
                "UPDATE outbox SET delivered_at = \(now.timeIntervalSince1970), claimed_until = NULL, message = ''::bytea WHERE id = \(id)",
                logger: self.logger)
        }
    }

    package func releaseMail(_ id: String) async throws {
        _ = try await transaction { connection in
            try await connection.query("UPDATE outbox SET claimed_until = NULL WHERE id = \(id) AND delivered_at IS NULL", logger: self.logger)
        }
    }

    package func pendingMailCount() async throws -> Int {
        try await run { connection in
            for try await count in try await connection.query("SELECT count(*) FROM outbox WHERE delivered_at IS NULL", logger: self.logger).decode(
                Int.self)
            {
                return count
            }
            return 0
        }
    }

    private func enqueue(_ connection: PostgresConnection, _ mail: OutgoingMail, at now: Date) async throws {
        try await connection.query(
            """
            INSERT INTO outbox (id, recipient, message, created_at)
            VALUES (\(mail.id), \(mail.recipient), \(Data(mail.message)), \(now.timeIntervalSince1970))
            """, logger: logger)
    }

    // MARK: - SQL

    static let applicationColumns = """
        SELECT a.id, a.token, a.name, a.email, a.language, a.status, a.identity_failures, a.approved_at,
               a.activated_at, a.revoked_at, a.renewals, a.certificate_serial, a.certificate_der, a.activated_key_digest,
               a.recovering_serial, a.recoveries, a.recovery_requested_at, a.recovery_reference, a.recovery_sealed_authorization,
               c.id AS code_id, c.reference, c.sealed_authorization, c.issued_at, c.wrong_references, c.used, a.xmin::text AS version
        """
    static let applicationFrom = "FROM application a JOIN code c ON c.application_id = a.id AND NOT c.superseded"
    static let applicationSelect = applicationColumns + "\n" + applicationFrom

    /// The application and its live codes.
    ///
    /// `lock`: first take the application's row lock (every change takes it first, so the codes cannot change
    /// while it is held), then read in a statement of its own. One statement `… JOIN code … FOR UPDATE OF a, c`
    /// would lose the row: when it waited for a renewal or a recovery that superseded the codes, PostgreSQL
    /// re-checks the join on the superseded row, which no longer matches, and the new row is not in that
    /// statement's snapshot — "unknown application" for a live one.
    private func application(_ connection: PostgresConnection, token: ApplicationToken, lock: Bool) async throws -> ApplicationRow? {
        if lock {
            var found = false
            for try await _ in try await connection.execute(Prepared<LockApplication> { $0.append(token.value) }, logger: logger) {
                found = true
            }
            guard found else { return nil }
        }
        let rows = try await connection.execute(Prepared<ApplicationByToken> { $0.append(token.value) }, logger: logger)
        for try await row in rows { return try Self.decode(row) }
        return nil
    }

    private static func decode(_ row: PostgresRow) throws -> ApplicationRow {
        let cells = PostgresRandomAccessRow(row)
        func data(_ name: String) throws -> [UInt8]? { try cells[name].decode(Data?.self).map { Array($0) } }
        let stored = StoredApplication(
            id: try cells["id"].decode(Int64.self), token: try cells["token"].decode(String.self), name: try cells["name"].decode(String.self),
            email: try cells["email"].decode(String.self), language: try cells["language"].decode(String.self),
            status: try cells["status"].decode(String.self), identityFailures: try cells["identity_failures"].decode(Int.self),
            approvedAt: try cells["approved_at"].decode(Double.self), activatedAt: try cells["activated_at"].decode(Double?.self),
            revokedAt: try cells["revoked_at"].decode(Double?.self), renewals: try cells["renewals"].decode(String.self),
            certificateSerial: try cells["certificate_serial"].decode(String?.self), certificateDER: try data("certificate_der"),
            activatedKeyDigest: try data("activated_key_digest"), recoveringSerial: try cells["recovering_serial"].decode(String?.self),
            recoveries: try cells["recoveries"].decode(String.self), recoveryRequestedAt: try cells["recovery_requested_at"].decode(Double?.self),
            recoveryReference: try cells["recovery_reference"].decode(String?.self),
            recoverySealedAuthorization: try data("recovery_sealed_authorization"),
            codeID: try cells["code_id"].decode(Int64.self),
            reference: try cells["reference"].decode(String.self), sealedAuthorization: try data("sealed_authorization") ?? [],
            issuedAt: try cells["issued_at"].decode(Double.self), wrongReferences: try cells["wrong_references"].decode(Int.self),
            used: try cells["used"].decode(Bool.self))
        var row = try stored.decoded()
        row.version = try cells["version"].decode(String.self)
        return row
    }

    private func certificates(_ connection: PostgresConnection, _ condition: PostgresQuery) async throws -> [StoredCertificate] {
        var query: PostgresQuery = """
            SELECT c.serial, c.application_id, a.token, c.der, c.issued_at, c.revoked_at, c.reason
            FROM certificate c JOIN application a ON a.id = c.application_id\(unescaped: " ")
            """
        // The head has no parameters: the condition's $1… stay as they are.
        query.sql += condition.sql
        query.binds = condition.binds
        var certificates: [StoredCertificate] = []
        for try await (serial, applicationID, token, der, issuedAt, revokedAt, reason) in try await connection.query(query, logger: logger)
            .decode((String, Int64, String, Data, Double, Double?, Int?).self)
        {
            certificates.append(
                StoredCertificate(
                    serial: serial, applicationID: applicationID, token: try Self.token(token), der: Array(der),
                    issuedAt: Date(timeIntervalSince1970: issuedAt), revokedAt: revokedAt.map(Date.init(timeIntervalSince1970:)),
                    reason: reason.flatMap(RevocationReason.init(rawValue:))))
        }
        return certificates
    }

    private func latestCRL(_ connection: PostgresConnection) async throws -> StoredCRL? {
        for try await (number, thisUpdate, der) in try await connection.query(
            "SELECT number, this_update, der FROM crl ORDER BY number DESC LIMIT 1", logger: logger
        )
        .decode((Int, Double, Data).self) {
            return StoredCRL(number: number, thisUpdate: Date(timeIntervalSince1970: thisUpdate), der: Array(der))
        }
        return nil
    }

    /// Signs a CRL of every certificate revoked so far, numbered after the last (under the CRL lock), and stores it.
    private func storeNewCRL(_ connection: PostgresConnection, at now: Date, sign: (Int, [CertificateRevocationList.Entry]) throws -> [UInt8])
        async throws -> [UInt8]
    {
        try await connection.query("SELECT pg_advisory_xact_lock(\(Self.crlLock))", logger: logger)
        var number = 1
        for try await last in try await connection.query("SELECT COALESCE(MAX(number), 0) FROM crl", logger: logger).decode(Int.self) {
            number = last + 1
        }
        var entries: [CertificateRevocationList.Entry] = []
        let rows = try await connection.query(
            "SELECT serial, revoked_at, reason FROM certificate WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial", logger: logger)
        for try await (serial, revokedAt, reason) in rows.decode((String, Double, Int?).self) {
            guard let bytes = Array(hex: serial) else { continue }
            entries.append(
                CertificateRevocationList.Entry(
                    serial: bytes, revokedAt: Date(timeIntervalSince1970: revokedAt), reason: RevocationReason(rawValue: reason ?? 0) ?? .unspecified)
            )
        }
        let der = try sign(number, entries)
        try await connection.query(
            "INSERT INTO crl (number, this_update, der) VALUES (\(number), \(now.timeIntervalSince1970), \(Data(der)))", logger: logger)
        return der
    }

    private func save(_ connection: PostgresConnection, _ row: ApplicationRow) async throws {
        let stored = StoredApplication(row)
        // Both rows in one statement (one round trip): the code's update as a data-modifying CTE.
        _ = try await connection.execute(Prepared<SaveApplication> { values in try Self.bindSave(&values, stored, row) }, logger: logger)
    }

    /// `SaveApplication`'s seventeen values, in its `$n` order (`SaveIfUnchanged` starts with the same).
    private static func bindSave(_ values: inout PostgresBindings, _ stored: StoredApplication, _ row: ApplicationRow) throws {
        values.append(stored.wrongReferences)
        values.append(stored.used)
        values.append(row.codeID)
        values.append(stored.status)
        values.append(stored.identityFailures)
        values.append(stored.renewals)
        try values.append(stored.activatedKeyDigest.map { Data($0) })
        values.append(stored.activatedAt)
        values.append(stored.revokedAt)
        values.append(stored.certificateSerial)
        try values.append(stored.certificateDER.map { Data($0) })
        values.append(stored.recoveringSerial)
        values.append(stored.recoveries)
        values.append(stored.recoveryRequestedAt)
        values.append(stored.recoveryReference)
        try values.append(stored.recoverySealedAuthorization.map { Data($0) })
        values.append(row.id)
    }

    private func insertCodes(_ connection: PostgresConnection, applicationID: Int64, _ codes: NewCodes) async throws -> Int64 {
        let rows = try await connection.query(
            """
            INSERT INTO code (application_id, reference, sealed_authorization, issued_at)
            VALUES (\(applicationID), \(codes.reference.digits), \(Data(codes.sealedAuthorization)), \(codes.issuedAt.timeIntervalSince1970))
            RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        throw AuthorityError(.storage, "the new codes got no id")
    }

    private func audit(_ connection: PostgresConnection, _ record: AuditRecord) async throws {
        _ = try await connection.execute(Prepared<InsertAudit> { values in Self.bindAudit(&values, record) }, logger: logger)
    }

    /// An audit row's five values in `InsertAudit`'s order (all NULL for none: `SaveIfUnchanged` and `AuditIfUnchanged` then
    /// insert nothing).
    private static func bindAudit(_ values: inout PostgresBindings, _ record: AuditRecord?) {
        values.append(record?.at.timeIntervalSince1970)
        values.append(record?.actor)
        values.append(record?.event.rawValue)
        values.append(record?.token?.formatted)
        values.append(record?.detail)
    }

    private static func token(_ text: String) throws -> ApplicationToken {
        do { return try ApplicationToken(parsing: text) } catch { throw AuthorityError(.storage, "the registry holds a damaged token") }
    }
}

// MARK: - Prepared statements

/// The statements of the requests that come by the hundred a second — step 1's overview, an identity check, a CMP
/// enrollment — which PostgreSQL parses and plans once per connection (`Prepared`).
extension PostgresRegistry {
    enum ApplicationWithQuestions: PreparedSQL {
        static let sql = """
            \(applicationColumns), q.text AS question_text, q.salt AS question_salt, q.hash AS question_hash,
                   q.iterations AS question_iterations
            \(applicationFrom) LEFT JOIN question q ON q.application_id = a.id
            WHERE a.token = $1 ORDER BY q.position
            """
    }

    enum ApplicationByToken: PreparedSQL {
        static let sql = applicationSelect + " WHERE a.token = $1"
    }

    enum LockApplication: PreparedSQL {
        static let sql = "SELECT id FROM application WHERE token = $1 FOR UPDATE"
    }

    enum LiveReference: PreparedSQL {
        static let sql = "SELECT a.token FROM code c JOIN application a ON a.id = c.application_id WHERE c.reference = $1 AND NOT c.superseded"
    }

    enum SenderFailures: PreparedSQL {
        static let sql = "SELECT at FROM sender_failure WHERE client = $1 AND at > $2 ORDER BY at"
    }

    /// Both rows in one statement (one round trip): the code's update as a data-modifying CTE.
    enum SaveApplication: PreparedSQL {
        static let sql = """
            WITH code_update AS (UPDATE code SET wrong_references = $1, used = $2 WHERE id = $3)
            UPDATE application SET status = $4, identity_failures = $5, renewals = $6, activated_key_digest = $7, activated_at = $8,
                revoked_at = $9, certificate_serial = $10, certificate_der = $11, recovering_serial = $12, recoveries = $13,
                recovery_requested_at = $14, recovery_reference = $15, recovery_sealed_authorization = $16
            WHERE id = $17
            """
    }

    /// `SaveApplication` with the certificate and the audit row it comes with, if the application is still the version read.
    ///
    /// $18: the version; $19–$21: the certificate, $22–$26: the audit row, each inserted only when given. Answers the number
    /// of application rows written, 0 or 1. The code's update and both inserts depend on the application's (`FROM a`),
    /// so none happens without it.
    enum SaveIfUnchanged: PreparedSQL {
        static let sql = """
            WITH a AS (
                UPDATE application SET status = $4, identity_failures = $5, renewals = $6, activated_key_digest = $7, activated_at = $8,
                    revoked_at = $9, certificate_serial = $10, certificate_der = $11, recovering_serial = $12, recoveries = $13,
                    recovery_requested_at = $14, recovery_reference = $15, recovery_sealed_authorization = $16
                WHERE id = $17 AND xmin::text = $18::text
                RETURNING id
            ), code_update AS (
                UPDATE code SET wrong_references = $1, used = $2 FROM a WHERE code.id = $3
            ), certificate_insert AS (
                INSERT INTO certificate (serial, application_id, der, issued_at)
                SELECT $19::text, a.id, $20::bytea, $21::double precision FROM a WHERE $19::text IS NOT NULL
            ), audit_insert AS (
                INSERT INTO audit (at, actor, event, token, detail)
                SELECT $22::double precision, $23::text, $24::text, $25::text, $26::text FROM a WHERE $24::text IS NOT NULL
            )
            SELECT count(*) FROM a
            """
    }

    /// The audit row of a change that writes no row, if the application is still the version read.
    ///
    /// $2: the version; $3–$7: the audit row, inserted only when given. Answers the number of application rows found, 0 or 1.
    enum AuditIfUnchanged: PreparedSQL {
        static let sql = """
            WITH a AS (
                SELECT id FROM application WHERE id = $1 AND xmin::text = $2::text
            ), audit_insert AS (
                INSERT INTO audit (at, actor, event, token, detail)
                SELECT $3::double precision, $4::text, $5::text, $6::text, $7::text FROM a WHERE $5::text IS NOT NULL
            )
            SELECT count(*) FROM a
            """
    }

    enum InsertAudit: PreparedSQL {
        static let sql = "INSERT INTO audit (at, actor, event, token, detail) VALUES ($1, $2, $3, $4, $5)"
    }

    enum InsertCertificate: PreparedSQL {
        static let sql = "INSERT INTO certificate (serial, application_id, der, issued_at) VALUES ($1, $2, $3, $4)"
    }
}
