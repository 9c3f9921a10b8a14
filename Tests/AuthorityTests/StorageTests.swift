import Activation
import AuthorityInterface
import Foundation
import GRDB
import Synchronization
import Testing

@testable import Authority

@Suite("Storage, secrets and audit")
struct StorageTests {
    @Test("no answer and no authorization code appears in the registry, its WAL, the mails or the audit log")
    func secretsNeverStored() async throws {
        let bed = TestBed(seed: 51)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let receipt = try await authority.approve(Sample.request())
        _ = await caught { try await authority.verifyIdentity(token: receipt.token, answers: Sample.wrongAnswers) }
        let first = try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers)
        bed.time.advance(by: 16 * 24 * 3600)
        let renewal = try await authority.renewCodes(token: receipt.token, authorization: first.authorization)
        let reference = try ReferenceNumber(parsing: try await authority.record(for: receipt.token).reference)
        _ = await caught {
            try await authority.issueCertificate(
                token: receipt.token, reference: try otherReference(than: reference), authorization: renewal.authorization,
                csrDER: try TestKey().csr())
        }
        _ = try await authority.issueCertificate(
            token: receipt.token, reference: reference, authorization: renewal.authorization, csrDER: try TestKey().csr())

        var secrets: [String] = [first.authorization.revealed, renewal.authorization.revealed]
        for answer in Sample.answers + Sample.wrongAnswers.map(\.revealed).dropFirst() {
            secrets += [answer, AnswerNormalizer.normalize(answer), answer.uppercased()]
        }
        let files = bed.allFiles()
        if let dump = try await bed.postgresDump() {
            // A fleet's registry: the whole database, as pg_dump writes it.
            #expect(dump.range(of: Data(receipt.token.value.utf8)) != nil)
            for secret in secrets { #expect(dump.range(of: Data(secret.utf8)) == nil, "the database holds a secret") }
            #expect(!files.contains { $0.lastPathComponent.hasPrefix("registry.sqlite") })
        } else {
            #expect(files.contains { $0.lastPathComponent == "registry.sqlite" })
            #expect(files.contains { $0.lastPathComponent == "registry.sqlite-wal" })
        }
        #expect(files.filter { $0.path.contains("/mail/new/") }.count == 2)
        for file in files {
            let bytes = try Data(contentsOf: file)
            for secret in secrets {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file.lastPathComponent) holds a secret")
            }
        }
        let audit = try await authority.auditLog()
        #expect(
            audit.map(\.event) == [
                "caCreated", "approved", "identityFailed", "identityVerified", "codesRenewed", "referenceRejected", "certificateIssued",
            ])
        for entry in audit {
            let text = "\(entry.actor) \(entry.event) \(entry.detail)"
            for secret in secrets { #expect(!text.localizedCaseInsensitiveContains(secret)) }
        }
    }

    @Test("file modes: data directory 0700, keys 0600; a data directory others can write to is refused")
    func fileModes() async throws {
        let bed = TestBed(seed: 52)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let receipt = try await authority.approve(Sample.request())
        #expect(try mode(bed.directory) == 0o700)
        #expect(try mode(bed.directory.appendingPathComponent("authority.key")) == 0o600)
        #expect(try Data(contentsOf: bed.directory.appendingPathComponent("authority.key")).count == 32)
        #expect(try mode(bed.directory.appendingPathComponent("ca/ca-key.pem")) == 0o600)
        #expect(try mode(authority.caCertificateURL) == 0o644)
        #expect(try mode(bed.directory.appendingPathComponent("ca")) == 0o700)
        #expect(try mode(authority.mailDirectory) == 0o700)
        #expect(try mode(#require(receipt.mailFile)) == 0o600)
        if !TestDatabase.isPostgres {
            #expect(try mode(bed.directory.appendingPathComponent("registry.sqlite")) == 0o600)
            #expect(try mode(bed.directory.appendingPathComponent("registry.sqlite-wal")) == 0o600)
        }
        #expect(authority.mailDirectory == bed.directory.appendingPathComponent("mail"))

        for unsafe in [0o777, 0o770, 0o702] {
            try FileManager.default.setAttributes([.posixPermissions: unsafe], ofItemAtPath: bed.directory.path)
            let error = await caught { try await bed.authority() }
            #expect((error as? AuthorityError)?.code == .dataDirectory)
        }
        // 0755 is not writable by others: accepted.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bed.directory.path)
        _ = try await bed.authority()

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: bed.directory.appendingPathComponent("authority.key").path)
        #expect((await caught { try await bed.authority() } as? AuthorityError)?.code == .dataDirectory)
    }

    @Test("8 instances opening a fresh data directory at once create one key, one registry and one CA")
    func concurrentSetup() async throws {
        let bed = TestBed(seed: 56)
        defer { bed.remove() }
        let certificates = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<8 {
                group.addTask { try await bed.authority().caCertificateDER() }
            }
            var all: [[UInt8]] = []
            for try await der in group { all.append(der) }
            return all
        }
        #expect(certificates.count == 8)
        #expect(Set(certificates).count == 1)
        let authority = try await bed.authority()
        #expect(try await authority.auditLog().map(\.event) == ["caCreated"])
        // The authority key is the one every instance uses: a code sealed by one opens in another.
        let receipt = try await authority.approve(Sample.request())
        _ = try await bed.authority().verifyIdentity(token: receipt.token, answers: Sample.rightAnswers)
    }

    @Test("a data directory is created 0700 with its parents")
    func freshDirectory() throws {
        let bed = TestBed(seed: 53)
        defer { bed.remove() }
        let nested = bed.directory.appendingPathComponent("a/b/paraphe")
        _ = try EmbeddedAuthority(configuration: AuthorityConfiguration(dataDirectory: nested, answerHashIterations: 1_000))
        #expect(try mode(nested) == 0o700)
        for sub in ["mail/tmp", "mail/new", "mail/cur", "ca"] {
            #expect(try mode(nested.appendingPathComponent(sub)) == 0o700)
        }
    }

    @Test("the audit log is append-only: UPDATE and DELETE fail, through GRDB and through the sqlite3 shell")
    func auditAppendOnly() async throws {
        let bed = TestBed(seed: 54)
        defer { bed.remove() }
        let authority = try await bed.authority()
        _ = try await authority.approve(Sample.request())
        let before = try await authority.auditLog()
        #expect(before.count == 2)

        if TestDatabase.isPostgres {
            // Through psql, as the database's owner (a superuser in the test cluster).
            for sql in ["UPDATE audit SET detail = 'forged'", "DELETE FROM audit"] {
                let result = try await bed.psql(sql)
                #expect(result.status != 0 && result.output.contains("append-only"), "\(result.output)")
            }
            #expect(try await authority.auditLog() == before)
            return
        }
        let queue = try DatabaseQueue(path: bed.directory.appendingPathComponent("registry.sqlite").path)
        for sql in ["UPDATE audit SET detail = 'forged'", "DELETE FROM audit", "UPDATE audit SET event = 'x' WHERE id = 1"] {
            #expect(throws: DatabaseError.self) { try queue.write { try $0.execute(sql: sql) } }
        }
        try queue.close()
        let shell = try sqlite(bed.directory.appendingPathComponent("registry.sqlite"), "DELETE FROM audit;")
        #expect(shell.status != 0)
        #expect(shell.output.contains("append-only"))
        #expect(try await authority.auditLog() == before)
    }

    @Test("another process holding the write lock is waited out, not reported as \"database is locked\"", .enabled(if: !TestDatabase.isPostgres))
    func busyRegistryIsWaitedOut() async throws {
        let bed = TestBed(seed: 57)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let receipt = try await authority.approve(Sample.request())
        let marker = bed.directory.deletingLastPathComponent().appendingPathComponent("locked")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        holder.arguments = [
            bed.directory.appendingPathComponent("registry.sqlite").path,
            "BEGIN IMMEDIATE;", "UPDATE application SET name = name;", ".shell touch '\(marker.path)'", ".shell sleep 1.5", "COMMIT;",
        ]
        try holder.run()
        defer { holder.waitUntilExit() }
        let deadline = Date() + 10
        while !FileManager.default.fileExists(atPath: marker.path), Date() < deadline {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        try #require(FileManager.default.fileExists(atPath: marker.path))
        let started = Date()
        #expect(
            await activationCode { try await authority.verifyIdentity(token: receipt.token, answers: Sample.wrongAnswers) }
                == .wrongAnswers(remaining: 4))
        #expect(Date().timeIntervalSince(started) > 0.5, "the write waited for the other process")
        holder.waitUntilExit()
        #expect(holder.terminationStatus == 0)
        #expect(try await authority.record(for: receipt.token).identityAttemptsRemaining == 4)
    }

    @Test("the registry indexes tokens and reference numbers", .enabled(if: !TestDatabase.isPostgres))
    func indexes() async throws {
        let bed = TestBed(seed: 55)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let plans = try await authority.sqlite.read { db in
            try [
                "SELECT id FROM application WHERE token = 'X'",
                "SELECT id FROM code WHERE reference = '1' AND superseded = 0",
                "SELECT c.id FROM application a JOIN code c ON c.applicationId = a.id AND c.superseded = 0 WHERE a.token = 'X'",
            ].map { sql in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined()
            }
        }
        #expect(
            plans[0].contains("USING INDEX sqlite_autoindex_application") || plans[0].contains("USING COVERING INDEX sqlite_autoindex_application"),
            "\(plans[0])")
        #expect(plans[1].contains("INDEX code_"), "\(plans[1])")
        #expect(plans[2].contains("INDEX code_live_application") && !plans[2].contains("SCAN"), "\(plans[2])")
        let journal = try await authority.sqlite.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }
}

/// Issue 22, hole 8: on PostgreSQL, a change that waits for an application's lock while another instance's renewal
/// (or recovery) supersedes its codes finds the application and its new codes, not "unknown link".
@Suite("PostgreSQL row locks", .enabled(if: TestDatabase.isPostgres))
struct PostgresLockTests {
    @Test func aChangeWaitingOnARenewalFindsTheNewCodes() async throws {
        let bed = TestBed(seed: 2281)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let receipt = try await authority.approve(Sample.request())
        let renewed = ReferenceNumber.generate(using: bed.random)
        let token = receipt.token.value
        // Another instance's renewal: it holds the application's lock while it replaces the codes, then commits.
        let other = try await bed.psqlInBackground(
            """
            BEGIN;
            SELECT id FROM application WHERE token = '\(token)' FOR UPDATE;
            UPDATE code SET superseded = TRUE WHERE application_id = (SELECT id FROM application WHERE token = '\(token)') AND NOT superseded;
            INSERT INTO code (application_id, reference, sealed_authorization, issued_at)
                SELECT id, '\(renewed.digits)', '\\x00'::bytea, 0 FROM application WHERE token = '\(token)';
            SELECT pg_sleep(1.5);
            COMMIT;
            """)
        defer { other.waitUntilExit() }
        try await Task.sleep(for: .milliseconds(500))  // the other transaction holds the lock by now
        let seen = try await authority.registry.update(token: receipt.token) { row -> RegistryChange<String> in
            RegistryChange(row.state.codes.reference.digits)
        }
        #expect(seen == renewed.digits, "the change waited for the renewal and saw its codes")
        other.waitUntilExit()
        #expect(other.terminationStatus == 0)
    }
}

/// A CMP enrollment's write from the row its request was checked with (`update(token:basis:)`): one statement when the
/// row is unchanged (PostgreSQL), never a lost update when it changed — on either registry.
@Suite("Writes from a row read without a lock")
struct UnchangedRowWriteTests {
    /// One wrong reference number counted from `basis`: the count the change saw, and how many times `body` ran.
    private static func countWrongReference(_ registry: any RegistryStore, _ token: ApplicationToken, basis: ApplicationRow) async throws -> (
        seen: Int, runs: Int
    ) {
        let runs = Mutex(0)
        let seen = try await registry.update(token: token, basis: basis) { row -> RegistryChange<Int> in
            runs.withLock { $0 += 1 }
            let seen = row.state.codes.wrongReferences
            row.state.codes.wrongReferences += 1
            return RegistryChange(
                seen, save: true, audit: [AuditRecord(at: Date(), actor: "test", event: .referenceRejected, token: token, detail: "counted")])
        }
        return (seen, runs.withLock { $0 })
    }

    @Test func aStaleRowIsNeverWrittenOver() async throws {
        let bed = TestBed(seed: 2611)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let token = try await authority.approve(Sample.request()).token
        let registry = authority.registry
        let first = try #require(try await registry.application(token: token))
        #expect((first.version != nil) == TestDatabase.isPostgres, "PostgreSQL reads a row's version; SQLite keeps none")

        let fresh = try await Self.countWrongReference(registry, token, basis: first)
        #expect(fresh.seen == 0 && fresh.runs == 1, "an unchanged row: one run of the rule")

        // `first` is stale now: the rule must run again on the row as it is (count 1), not write 1 over it.
        let stale = try await Self.countWrongReference(registry, token, basis: first)
        #expect(stale.seen == 1)
        #expect(stale.runs == (TestDatabase.isPostgres ? 2 : 1), "PostgreSQL tried the stale row's version first, then the lock")
        let after = try #require(try await registry.application(token: token))
        #expect(after.state.codes.wrongReferences == 2)
        #expect(after.version != first.version || !TestDatabase.isPostgres)
        let audits = try await registry.auditEntries().filter { $0.event == AuditEvent.referenceRejected.rawValue && $0.detail == "counted" }
        #expect(audits.count == 2, "each write appended its audit row once")

        // A change that writes no row is checked against the version too.
        let unchangedRead = try await registry.update(token: token, basis: first) { row -> RegistryChange<Int> in
            RegistryChange(row.state.codes.wrongReferences)
        }
        #expect(unchangedRead == 2)
    }

    /// The statement that checks the version waits for a writer holding the row and then sees what it committed.
    @Test(.enabled(if: TestDatabase.isPostgres)) func aWriterHoldingTheRowIsWaitedOutAndSeen() async throws {
        let bed = TestBed(seed: 2612)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let token = try await authority.approve(Sample.request()).token
        let registry = authority.registry
        let basis = try #require(try await registry.application(token: token))
        let other = try await bed.psqlInBackground(
            """
            BEGIN;
            UPDATE code SET wrong_references = 3 WHERE application_id = \(basis.id) AND NOT superseded;
            UPDATE application SET identity_failures = identity_failures WHERE id = \(basis.id);
            SELECT pg_sleep(1.5);
            COMMIT;
            """)
        defer { other.waitUntilExit() }
        try await Task.sleep(for: .milliseconds(500))  // the other transaction holds the row by now
        let counted = try await Self.countWrongReference(registry, token, basis: basis)
        #expect(counted.seen == 3 && counted.runs == 2, "the write from the old version found no row and went the locked way")
        other.waitUntilExit()
        #expect(other.terminationStatus == 0)
        #expect(try await registry.application(token: token)?.state.codes.wrongReferences == 4)
    }
}
