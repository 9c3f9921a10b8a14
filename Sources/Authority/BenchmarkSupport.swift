import Activation
import AuthorityInterface
import Foundation
import GRDB

// Entry points for the benchmark suite in bench/ (issue 6), behind `@_spi(Benchmarks)` so they are
// not part of the public API. They reuse the registry's schema, row decoding and save/audit code;
// nothing here is used by the product.

/// Synthetic, repeatable applications for the registry benchmarks: application `index` always has
/// the same token and reference number, so a seeded registry can be cached and looked up later.
@_spi(Benchmarks) public enum BenchmarkSeed {
    /// The token of synthetic application `index` (80 bits from SplitMix64, Crockford base32).
    public static func token(_ index: Int) -> ApplicationToken? {
        var state = UInt64(truncatingIfNeeded: index) &+ 0x5041_5241_5048_4521
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
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

    /// The reference number of synthetic application `index` (distinct for every index below 90,000,000).
    public static func reference(_ index: Int) -> ReferenceNumber? {
        let body = String(10_000_000 + index % 90_000_000)
        return try? ReferenceNumber(parsing: body + String(Damm.checkDigit(body)))
    }

    static let questions = [
        "What was the name of your first pet?",
        "In which city did your parents meet?",
        "What was your childhood nickname?",
    ]
}

extension EmbeddedAuthority {
    /// How many applications the registry holds.
    @_spi(Benchmarks) public func benchmarkApplicationCount() async throws -> Int {
        try await registry.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM application") ?? 0 }
    }

    /// Inserts synthetic approved applications `range` (see `BenchmarkSeed`) as `approve` stores them
    /// (application, three questions, live codes with a sealed authorization code, audit row), in
    /// IMMEDIATE transactions of `batchSize` applications. The slow answer hashing is done once and its
    /// result reused for every answer. `progress` gets the number inserted so far after each batch.
    @_spi(Benchmarks) public func benchmarkSeed(
        _ range: Range<Int>, batchSize: Int = 50_000, progress: @Sendable (Int) -> Void = { _ in }
    ) async throws {
        let random = configuration.random
        let hash = try AnswerHash.make(SecurityAnswer("Montréal"), iterations: configuration.answerHashIterations, random: random)
        let now = configuration.time.now()
        let actor = "operator:benchmark"
        let sealer = self.sealer
        let questions = BenchmarkSeed.questions
        let expiresAt = Self.iso8601(now.addingTimeInterval(ActivationPolicy.codeValidity))
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(range.upperBound, start + max(1, batchSize))
            let batch = start..<end
            try await registry.immediate { db in
                let insertApplication = try db.cachedStatement(sql: """
                    INSERT INTO application (token, name, email, language, status, identityFailures, approvedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
                let insertQuestion = try db.cachedStatement(
                    sql: "INSERT INTO question (applicationId, position, text, salt, hash, iterations) VALUES (?, ?, ?, ?, ?, ?)")
                let salt = Data(hash.salt)
                let digest = Data(hash.hash)
                for index in batch {
                    guard let token = BenchmarkSeed.token(index), let reference = BenchmarkSeed.reference(index) else {
                        throw AuthorityError(.badRequest, "no synthetic codes for index \(index)")
                    }
                    let language: Language = index % 4 == 3 ? .fr : .en
                    try insertApplication.execute(arguments: [
                        token.value, "Bench Subscriber \(index)", "bench\(index)@example.com", language.rawValue,
                        ApplicationStatus.approved.rawValue, 0, now.timeIntervalSince1970,
                    ])
                    let id = db.lastInsertedRowID
                    for (position, text) in questions.enumerated() {
                        try insertQuestion.execute(arguments: [id, position, text, salt, digest, hash.iterations])
                    }
                    let sealed = try sealer.seal(AuthorizationCode.generate(using: random), for: token)
                    _ = try Registry.insertCodes(db, applicationID: id, reference: reference, sealed: sealed, issuedAt: now)
                    try Registry.audit(
                        db, at: now, actor: actor, event: .approved, token: token,
                        detail: "language \(language.rawValue); codes valid until \(expiresAt)")
                }
            }
            progress(end - range.lowerBound)
            start = end
        }
    }

    /// Step 1's lookup (`overview`): the application row and its questions, by token. False if unknown.
    @_spi(Benchmarks) public func benchmarkLookup(token: ApplicationToken) async throws -> Bool {
        try await registry.read { db in
            guard let row = try Registry.application(db, token: token) else { return false }
            return try Registry.questions(db, applicationID: row.id).count == ActivationPolicy.questionCount
        }
    }

    /// The application holding the live codes with `reference` (the live-reference index, then the
    /// row by token). False if no live codes carry it.
    @_spi(Benchmarks) public func benchmarkLookup(reference: ReferenceNumber) async throws -> Bool {
        try await registry.read { db in
            guard try Registry.referenceIsLive(db, reference),
                let text = try String.fetchOne(
                    db,
                    sql: """
                        SELECT a.token FROM code c JOIN application a ON a.id = c.applicationId
                        WHERE c.reference = ? AND c.superseded = 0
                        """,
                    arguments: [reference.digits]),
                let token = try? ApplicationToken(parsing: text)
            else { return false }
            return try Registry.application(db, token: token) != nil
        }
    }

    /// One failed identity submission as `verifyIdentity` records it once the answers are hashed: an
    /// IMMEDIATE transaction that reloads the application, applies `submitAnswers(matching: 0)`, saves
    /// and appends the audit row, then commits (durably, per the registry's `synchronous` setting).
    /// Returns the attempts left.
    @_spi(Benchmarks) public func benchmarkFailedAttempt(token: ApplicationToken) async throws -> Int {
        switch try await recordIdentitySubmission(token: token, matching: 0, at: configuration.time.now()) {
        case .verified: return ActivationPolicy.identityAttempts
        case .failed(let remaining): return remaining
        case .locked: return 0
        }
    }

    /// Folds the WAL into the database file (so its size is the registry's size) and truncates the WAL.
    @_spi(Benchmarks) public func benchmarkCheckpoint() async throws {
        try await registry.pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    /// The registry's storage settings (`journal_mode`, `synchronous`, `page_size`, `cache_size`) and
    /// the query plans of the benchmarked lookups, for the report.
    @_spi(Benchmarks) public func benchmarkDescription(token: ApplicationToken, reference: ReferenceNumber) async throws -> [String] {
        try await registry.read { db in
            var lines: [String] = []
            for pragma in ["journal_mode", "synchronous", "page_size", "cache_size"] {
                let value = try String.fetchOne(db, sql: "PRAGMA \(pragma)") ?? "?"
                lines.append("PRAGMA \(pragma) = \(value)")
            }
            let plans: [(String, String, StatementArguments)] = [
                ("by token", """
                    SELECT a.id FROM application a JOIN code c ON c.applicationId = a.id AND c.superseded = 0 WHERE a.token = ?
                    """, [token.value]),
                ("by reference", "SELECT 1 FROM code WHERE reference = ? AND superseded = 0", [reference.digits]),
            ]
            for (name, sql, arguments) in plans {
                let rows = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments)
                let details = rows.map { row -> String in row["detail"] ?? "?" }
                lines.append("plan \(name): " + details.joined(separator: "; "))
            }
            return lines
        }
    }
}
