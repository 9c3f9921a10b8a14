import Activation
import Authority
import Foundation
import GRDB

/// Row 6 of the benchmark table: the registry with N applications.
///
/// The product has no bulk-import path, and approving a million applications through `approve` would
/// hash three answers at 600,000 PBKDF2 iterations and write a mail for each. So the bench lets the
/// authority create (and migrate) its registry, then fills the product's tables itself, in SQL, with
/// what `approve` would store: the application, three questions, one live code pair, one audit row.
/// What it measures goes through the product: step 1's `overview(of:)`, and a wrong-answer
/// `verifyIdentity` (the seeded answer hashes use 1 iteration, so the timing is the registry's
/// IMMEDIATE transaction and durable commit, not PBKDF2). Only the by-reference lookup, which no public
/// call performs alone, runs the product's query on the live-reference index directly.
enum RegistryBenchmark {
    static func open(_ directory: URL) throws -> EmbeddedAuthority {
        try EmbeddedAuthority(configuration: AuthorityConfiguration(dataDirectory: directory, operatorName: "bench"))
    }

    /// The registry file as the bench reads and fills it (the authority's settings: WAL, busy timeout).
    static func pool(_ directory: URL) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.journalMode = .wal
        return try DatabasePool(path: directory.appendingPathComponent("registry.sqlite").path, configuration: configuration)
    }

    static func count(_ pool: DatabasePool) throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM application") ?? 0 }
    }

    /// Seeds `directory` up to `count` synthetic applications (resuming a partial seed), then folds the WAL in.
    static func seed(_ directory: URL, count: Int) async throws -> [String: Any] {
        _ = try open(directory)  // creates the data directory, the CA and the registry's schema
        let pool = try pool(directory)
        let present = try Self.count(pool)
        let start = nanoseconds()
        if present < count {
            note("registry: seeding \(present)..<\(count) applications in \(directory.path)")
            var index = present
            while index < count {
                let batch = index..<min(count, index + 50_000)
                try await pool.write { db in try insert(batch, into: db) }
                index = batch.upperBound
                note(String(format: "registry: %d / %d inserted (%.1f s)", index, count, Double(nanoseconds() - start) / 1e9))
            }
        }
        try checkpoint(pool)
        let seconds = Double(nanoseconds() - start) / 1e9
        return ["measure": "registry-seed", "applications": try Self.count(pool), "seconds": seconds]
    }

    /// Lookups by token and by reference number at random, then durable failed attempts on distinct
    /// applications, each call timed on its own.
    static func measure(_ directory: URL, count: Int, lookups: Int, attempts: Int) async throws -> [String: Any] {
        let database = directory.appendingPathComponent("registry.sqlite")
        let size = fileSize(database)
        let walSize = fileSize(directory.appendingPathComponent("registry.sqlite-wal"))
        let authority = try open(directory)
        let pool = try pool(directory)
        let present = try Self.count(pool)
        guard present >= count else { throw BenchError("the registry holds \(present) applications, not \(count): seed it first") }

        var generator = SystemRandomNumberGenerator()
        func randomIndex() -> Int { Int.random(in: 0..<count, using: &generator) }
        guard let sampleToken = Seed.token(0), let sampleReference = Seed.reference(0) else { throw BenchError("no synthetic codes") }
        let description = try describe(pool, token: sampleToken, reference: sampleReference)
        for line in description { note("registry: \(line)") }

        // Keys are derived before timing; each sample is one call as the product makes it (a pooled read).
        let tokens = (0..<lookups).compactMap { _ in Seed.token(randomIndex()) }
        let references = (0..<lookups).compactMap { _ in Seed.reference(randomIndex()) }
        var byToken = Samples()
        var byReference = Samples()
        // Interleaved, so both see the same machine noise.
        for (token, reference) in zip(tokens, references) {
            var start = nanoseconds()
            let overview = try await authority.overview(of: token)
            byToken.add(nanoseconds() - start)
            guard overview.questions.count == ActivationPolicy.questionCount else { throw BenchError("token lookup missed \(token)") }
            start = nanoseconds()
            let live = try await pool.read { db in
                try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM code WHERE reference = ? AND superseded = 0)",
                    arguments: [reference.digits]) ?? false
            }
            byReference.add(nanoseconds() - start)
            guard live else { throw BenchError("reference lookup missed \(reference)") }
        }
        note("registry lookup by token: \(byToken.line())")
        note("registry lookup by reference: \(byReference.line())")

        var indices = Set<Int>()
        while indices.count < min(attempts, count) { indices.insert(randomIndex()) }
        let wrong = (1...ActivationPolicy.questionCount).map { SecurityAnswer("wrong answer \($0)") }
        var writes = Samples()
        for index in indices {
            guard let token = Seed.token(index) else { continue }
            let start = nanoseconds()
            do {
                _ = try await authority.verifyIdentity(token: token, answers: wrong)
                throw BenchError("wrong answers were accepted for \(token)")
            } catch let error as ActivationError {
                guard case .wrongAnswers = error.code else { throw error }
            }
            writes.add(nanoseconds() - start)
        }
        note("registry durable failed attempt: \(writes.line())")
        return [
            "measure": "registry",
            "applications": present,
            "database_bytes": size,
            "wal_bytes_before": walSize,
            "by_token": byToken.json(),
            "by_reference": byReference.json(),
            "attempt_write": writes.json(),
            "settings": description,
        ]
    }

    /// Synthetic, repeatable applications: application `index` always has the same token and reference
    /// number, so a seeded registry can be cached and looked up later.
    enum Seed {
        /// The token of application `index` (80 bits from SplitMix64, Crockford base32).
        static func token(_ index: Int) -> ApplicationToken? {
            var state = UInt64(truncatingIfNeeded: index) &+ 0x5041_5241_5048_4521
            var bytes: [UInt8] = []
            for _ in 0..<2 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                withUnsafeBytes(of: z.littleEndian) { bytes.append(contentsOf: $0) }
            }
            return try? ApplicationToken(parsing: Base32.crockford(Array(bytes.prefix(10))))
        }

        /// The reference number of application `index` (distinct for every index below 90,000,000).
        static func reference(_ index: Int) -> ReferenceNumber? {
            let body = String(10_000_000 + index % 90_000_000)
            return try? ReferenceNumber(parsing: body + String(Damm.checkDigit(body)))
        }

        static let questions = [
            "What was the name of your first pet?", "In which city did your parents meet?", "What was your childhood nickname?",
        ]
    }

    /// Inserts applications `batch` as `approve` stores them, in one transaction.
    static func insert(_ batch: Range<Int>, into db: Database) throws {
        let now = Date()
        var random = SystemRandomNumberGenerator()
        func bytes(_ count: Int) -> Data { Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }) }
        let application = try db.cachedStatement(sql: """
            INSERT INTO application (token, name, email, language, status, identityFailures, approvedAt)
            VALUES (?, ?, ?, ?, 'approved', 0, ?)
            """)
        let question = try db.cachedStatement(
            sql: "INSERT INTO question (applicationId, position, text, salt, hash, iterations) VALUES (?, ?, ?, ?, ?, 1)")
        let code = try db.cachedStatement(
            sql: "INSERT INTO code (applicationId, reference, sealedAuthorization, issuedAt) VALUES (?, ?, ?, ?)")
        let audit = try db.cachedStatement(
            sql: "INSERT INTO audit (at, actor, event, token, detail) VALUES (?, 'operator:benchmark', 'approved', ?, ?)")
        let salt = bytes(16)
        let hash = bytes(32)
        for index in batch {
            guard let token = Seed.token(index), let reference = Seed.reference(index) else {
                throw BenchError("no synthetic codes for index \(index)")
            }
            let language: Language = index % 4 == 3 ? .fr : .en
            try application.execute(arguments: [
                token.value, "Bench Subscriber \(index)", "bench\(index)@example.com", language.rawValue, now.timeIntervalSince1970,
            ])
            let id = db.lastInsertedRowID
            for (position, text) in Seed.questions.enumerated() {
                try question.execute(arguments: [id, position, text, salt, hash])
            }
            // The sealed authorization code's size (nonce + 10 characters + tag); never opened by the bench.
            try code.execute(arguments: [id, reference.digits, bytes(12 + 10 + 16), now.timeIntervalSince1970])
            try audit.execute(arguments: [now.timeIntervalSince1970, token.formatted, "language \(language.rawValue)"])
        }
    }

    /// Folds the WAL into the database file (so its size is the registry's size) and truncates the WAL.
    static func checkpoint(_ pool: DatabasePool) throws {
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// The registry's storage settings and the query plans of the benchmarked lookups, for the report.
    static func describe(_ pool: DatabasePool, token: ApplicationToken, reference: ReferenceNumber) throws -> [String] {
        try pool.read { db in
            var lines: [String] = []
            for pragma in ["journal_mode", "synchronous", "page_size", "cache_size"] {
                lines.append("PRAGMA \(pragma) = \(try String.fetchOne(db, sql: "PRAGMA \(pragma)") ?? "?")")
            }
            let plans: [(String, String, StatementArguments)] = [
                ("by token", "SELECT id FROM application WHERE token = ?", [token.value]),
                ("by reference", "SELECT 1 FROM code WHERE reference = ? AND superseded = 0", [reference.digits]),
            ]
            for (name, sql, arguments) in plans {
                let rows = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments)
                lines.append("plan \(name): " + rows.map { row -> String in row["detail"] ?? "?" }.joined(separator: "; "))
            }
            return lines
        }
    }

    static func fileSize(_ url: URL) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}
