@_spi(Benchmarks) import Authority
import Activation
import Foundation

/// Row 6 of the table: the registry with N applications.
enum RegistryBenchmark {
    static func open(_ directory: URL) throws -> EmbeddedAuthority {
        try EmbeddedAuthority(configuration: AuthorityConfiguration(dataDirectory: directory, operatorName: "bench"))
    }

    /// Seeds `directory` up to `count` synthetic applications (resuming a partial seed), then folds the WAL in.
    static func seed(_ directory: URL, count: Int) async throws -> [String: Any] {
        let authority = try open(directory)
        let present = try await authority.benchmarkApplicationCount()
        let start = nanoseconds()
        if present < count {
            note("registry: seeding \(present)..<\(count) applications in \(directory.path)")
            try await authority.benchmarkSeed(present..<count, batchSize: 50_000) { done in
                let elapsed = Double(nanoseconds() - start) / 1e9
                note(String(format: "registry: %d / %d inserted (%.1f s)", present + done, count, elapsed))
            }
        }
        try await authority.benchmarkCheckpoint()
        let seconds = Double(nanoseconds() - start) / 1e9
        return ["measure": "registry-seed", "applications": try await authority.benchmarkApplicationCount(), "seconds": seconds]
    }

    /// Lookups by token and by reference number at random, then durable failed attempts on distinct
    /// applications, each call timed on its own.
    static func measure(_ directory: URL, count: Int, lookups: Int, attempts: Int) async throws -> [String: Any] {
        let database = directory.appendingPathComponent("registry.sqlite")
        let size = fileSize(database)
        let walSize = fileSize(directory.appendingPathComponent("registry.sqlite-wal"))
        let authority = try open(directory)
        let present = try await authority.benchmarkApplicationCount()
        guard present >= count else { throw BenchError("the registry holds \(present) applications, not \(count): seed it first") }

        var generator = SystemRandomNumberGenerator()
        func randomIndex() -> Int { Int.random(in: 0..<count, using: &generator) }
        guard let sampleToken = BenchmarkSeed.token(0), let sampleReference = BenchmarkSeed.reference(0) else {
            throw BenchError("no synthetic codes")
        }
        let description = try await authority.benchmarkDescription(token: sampleToken, reference: sampleReference)
        for line in description { note("registry: \(line)") }

        // Keys are derived before timing; each sample is one call as the product makes it (a pooled read).
        let tokens = (0..<lookups).compactMap { _ in BenchmarkSeed.token(randomIndex()) }
        let references = (0..<lookups).compactMap { _ in BenchmarkSeed.reference(randomIndex()) }
        var byToken = Samples()
        var byReference = Samples()
        // Interleaved, so both see the same machine noise.
        for (token, reference) in zip(tokens, references) {
            var found = false
            var start = nanoseconds()
            found = try await authority.benchmarkLookup(token: token)
            byToken.add(nanoseconds() - start)
            guard found else { throw BenchError("token lookup missed \(token)") }
            start = nanoseconds()
            found = try await authority.benchmarkLookup(reference: reference)
            byReference.add(nanoseconds() - start)
            guard found else { throw BenchError("reference lookup missed \(reference)") }
        }
        note("registry lookup by token: \(byToken.line())")
        note("registry lookup by reference: \(byReference.line())")

        var indices = Set<Int>()
        while indices.count < min(attempts, count) { indices.insert(randomIndex()) }
        var writes = Samples()
        for index in indices {
            guard let token = BenchmarkSeed.token(index) else { continue }
            let start = nanoseconds()
            let remaining = try await authority.benchmarkFailedAttempt(token: token)
            writes.add(nanoseconds() - start)
            guard remaining < ActivationPolicy.identityAttempts else { throw BenchError("a failed attempt was not recorded") }
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

    static func fileSize(_ url: URL) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}
