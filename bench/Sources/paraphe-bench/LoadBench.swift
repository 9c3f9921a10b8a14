import Activation
import AsyncHTTPClient
import Authority
import AuthorityInterface
import AuthorityPostgres
import CMP
import Foundation
import Keystore
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// The fleet's load rows (issue 12), against real `paraphe-authority serve` processes (release) on this
/// machine, SQLite or the PostgreSQL cluster bench/run starts:
///
/// - `identity`: identity checks a second through one instance pinned to one core (taskset), against the
///   physical floor — 3 PBKDF2-HMAC-SHA256 at 600,000 iterations, timed in this process — and the same with
///   two instances on one PostgreSQL database, one a core (the throughput ratio);
/// - `enroll`: CMP enrollments a second (p10cr + certConf, Paraphe's own client, as a kiosk sends them) with
///   codes released beforehand by identity checks on answers hashed at 1 iteration ("pre-verified"), on
///   SQLite and on PostgreSQL;
/// - `lookups`: step 1's overview (`GET /api/v1/applications/{token}`) at a fixed offered rate (open loop: each
///   request's latency counts from when it was due), with N applications seeded in PostgreSQL.
enum LoadBenchmark {
    struct Server {
        let process: Process
        let port: Int
        let dataDir: URL

        func stop() {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// Starts `paraphe-authority serve` (pinned to `cores` with taskset when given); waits for its first line.
    static func serve(_ binary: String, dataDir: URL, database: String?, cores: String?) throws -> Server {
        let process = Process()
        var arguments = [binary, "serve", "--data-dir", dataDir.path, "--listen", "127.0.0.1:0", "--rate-limit", "0", "--identity-checks", "0"]
        if let database { arguments += ["--database", database] }
        if let cores {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", cores] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = Array(arguments.dropFirst())
        }
        var environment = ProcessInfo.processInfo.environment
        environment["PARAPHE_LOG_LEVEL"] = "warning"
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("Listening on https://"), let port = text.split(separator: ":").last.flatMap({ Int($0) }) else {
            process.terminate()
            throw BenchError("paraphe-authority did not start: \(text)")
        }
        return Server(process: process, port: port, dataDir: dataDir)
    }

    static func client(trusting dataDir: URL) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(dataDir.appendingPathComponent("ca/ca-cert.pem").path))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    static func post(_ client: HTTPClient, _ url: String, json: String) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await client.execute(request, timeout: .seconds(60))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    /// An authority on `dataDir` (and `registry`, if any) in this process, for approving the bench's applications.
    static func authority(_ dataDir: URL, registry: PostgresRegistry?, iterations: Int) async throws -> EmbeddedAuthority {
        let configuration = AuthorityConfiguration(dataDirectory: dataDir, answerHashIterations: iterations, operatorName: "bench")
        if let registry { return try await EmbeddedAuthority.open(configuration: configuration, registry: registry) }
        return try EmbeddedAuthority(configuration: configuration)
    }

    static let answers = ["Montréal", "Rex", "Bleu"]

    static func approve(_ authority: EmbeddedAuthority, count: Int) async throws -> [ApplicationToken] {
        var tokens: [ApplicationToken] = []
        for index in 0..<count {
            let receipt = try await authority.approve(ApprovalRequest(
                subscriber: Subscriber(name: "Load Test \(index)", email: "load\(index)@example.com", language: .en),
                questions: ["q1?", "q2?", "q3?"], answers: answers.map(SecurityAnswer.init), approvedAt: nil))
            tokens.append(receipt.token)
        }
        return tokens
    }

    /// Runs `concurrency` loops of `body` until `seconds` have passed; the number of successful calls a second.
    static func throughput(concurrency: Int, seconds: Double, _ body: @escaping @Sendable (Int) async throws -> Bool) async throws -> Double {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let start = ContinuousClock.now
        let done = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var count = 0, iteration = 0
                    while ContinuousClock.now < deadline {
                        if try await body(iteration * concurrency + worker) { count += 1 }
                        iteration += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - start
        return Double(done) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    // MARK: - Identity checks

    static func identity(binary: String, work: URL, database: PostgresServer?, seconds: Double) async throws -> [String: Any] {
        // The floor: one PBKDF2-HMAC-SHA256 at 600,000 iterations, as an answer hash is checked, timed on the core
        // the server gets (`paraphe-bench kdf` under taskset: the medians of 9 runs, before and after the one-core
        // measure, the lower kept; the machine's two cores need not run at the same speed).
        var floors: [Double] = []
        func timeFloor() throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", "0", CommandLine.arguments[0], "kdf", "--pairs", "9"]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any], let pbkdf2 = json["pbkdf2"] as? [String: Any],
                let median = pbkdf2["p50_ms"] as? Double
            else { throw BenchError("paraphe-bench kdf gave no PBKDF2 median") }
            floors.append(median / 1000)
        }
        try timeFloor()
        let body = #"{"answers":["Montreal","rex","bleu"]}"#

        // One instance, one core (SQLite registry); this process on the other core.
        let single = work.appendingPathComponent("identity-sqlite")
        let tokens = try await approve(try await authority(single, registry: nil, iterations: 600_000), count: 8)
        let server = try serve(binary, dataDir: single, database: nil, cores: "0")
        let http = try client(trusting: single)
        let oneCore = try await throughput(concurrency: 4, seconds: seconds) { index in
            try await post(http, "https://127.0.0.1:\(server.port)/api/v1/applications/\(tokens[index % tokens.count].value)/identity", json: body) == 200
        }
        server.stop()
        try timeFloor()
        let pbkdf2 = floors.min() ?? 0
        let floorPerCore = 1 / (3 * pbkdf2)
        note(String(format: "load: identity checks, one instance on one core: %.2f/s (floor %.2f/s: PBKDF2 %.1f ms)", oneCore, floorPerCore, pbkdf2 * 1000))
        var result: [String: Any] = [
            "measure": "load-identity", "pbkdf2_ms": pbkdf2 * 1000, "floor_per_core": floorPerCore, "per_core": oneCore,
            "overhead": floorPerCore / oneCore - 1,
        ]

        // One then two instances on one PostgreSQL database, each pinned to its own core.
        if let database {
            let shared = work.appendingPathComponent("identity-pg-0")
            let location = try await database.createDatabase("identity")
            let registry = try await PostgresRegistry.open(try PostgresLocation(parsing: location), password: database.password)
            let pgTokens = try await approve(try await authority(shared, registry: registry, iterations: 600_000), count: 8)
            await registry.close()
            let second = work.appendingPathComponent("identity-pg-1")
            try copyKeys(from: shared, to: second)
            let first = try serve(binary, dataDir: shared, database: location, cores: "0")
            let fleetHTTP = try client(trusting: shared)
            defer { Task { try? await fleetHTTP.shutdown() } }
            let one = try await throughput(concurrency: 4, seconds: seconds) { index in
                try await post(fleetHTTP, "https://127.0.0.1:\(first.port)/api/v1/applications/\(pgTokens[index % pgTokens.count].value)/identity", json: body) == 200
            }
            let other = try serve(binary, dataDir: second, database: location, cores: "1")
            let ports = [first.port, other.port]
            let two = try await throughput(concurrency: 8, seconds: seconds) { index in
                try await post(fleetHTTP, "https://127.0.0.1:\(ports[index % 2])/api/v1/applications/\(pgTokens[index % pgTokens.count].value)/identity", json: body) == 200
            }
            first.stop()
            other.stop()
            note(String(format: "load: identity checks on PostgreSQL, one instance %.2f/s, two %.2f/s (%.2f×)", one, two, two / one))
            result["postgres_one"] = one
            result["postgres_two"] = two
            result["ratio"] = two / one
        }
        try await http.shutdown()
        return result
    }

    // MARK: - A burst of identity checks (issue 22, hole 7)

    /// `count` identity checks sent at once (each its own application and connection, as from as many kiosks) to one
    /// instance while `/health` is asked every 50 ms: the health latencies (p50, p99, max), and how the checks ended —
    /// 200, or 503 with Retry-After when the CPU workers' queue is full — with the slowest answer (no request waits
    /// without bound). Answers are hashed at the full 600,000 iterations, as in production.
    static func burst(binary: String, work: URL, count: Int) async throws -> [String: Any] {
        let dataDir = work.appendingPathComponent("burst")
        note("load: approving \(count) applications at full cost for the burst")
        let tokens = try await approve(try await authority(dataDir, registry: nil, iterations: 600_000), count: count)
        let server = try serve(binary, dataDir: dataDir, database: nil, cores: nil)
        defer { server.stop() }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(dataDir.appendingPathComponent("ca/ca-cert.pem").path))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: count + 8)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let base = "https://127.0.0.1:\(server.port)"
        // Warm: a connection and a health answer.
        _ = try await http.execute(HTTPClientRequest(url: base + "/health"), timeout: .seconds(10)).body.collect(upTo: 1 << 16)
        let health = Shared(Samples())
        let outcomes = Shared([Int: Int]())
        let slowest = Shared(0.0)
        let stop = Shared(false)
        let body = #"{"answers":["Montreal","rex","bleu"]}"#
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !stop.value.withLock({ $0 }) {
                    let asked = ContinuousClock.now
                    let response = try await http.execute(HTTPClientRequest(url: base + "/health"), timeout: .seconds(30))
                    _ = try await response.body.collect(upTo: 1 << 16)
                    let elapsed = ContinuousClock.now - asked
                    health.value.withLock { $0.add(UInt64(elapsed.components.seconds) * 1_000_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000)) }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { checks in
                for token in tokens {
                    checks.addTask {
                        let status = try await post(http, base + "/api/v1/applications/\(token.value)/identity", json: body)
                        let elapsed = ContinuousClock.now - start
                        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                        outcomes.value.withLock { $0[status, default: 0] += 1 }
                        slowest.value.withLock { $0 = max($0, seconds) }
                    }
                }
                try await checks.waitForAll()
            }
            stop.value.withLock { $0 = true }
            try await group.waitForAll()
        }
        try await http.shutdown()
        let samples = health.value.withLock { $0 }
        let ended = outcomes.value.withLock { $0 }
        let longest = slowest.value.withLock { $0 }
        note("load: \(count) identity checks at once: \(ended.sorted { $0.key < $1.key }.map { "\($0.value)× \($0.key)" }.joined(separator: ", ")), "
             + String(format: "the last answered after %.1f s; /health meanwhile %@", longest, samples.line()))
        return ["measure": "load-burst", "checks": count, "outcomes": Dictionary(uniqueKeysWithValues: ended.map { (String($0.key), $0.value) }),
                "slowest_s": longest, "health": samples.json()]
    }

    static func copyKeys(from: URL, to: URL) throws {
        try FileManager.default.createDirectory(at: to.appendingPathComponent("ca"), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: to.path)
        for file in ["authority.key", "ca/ca-key.pem", "ca/ca-cert.pem"] {
            try FileManager.default.copyItem(at: from.appendingPathComponent(file), to: to.appendingPathComponent(file))
        }
    }

    // MARK: - Enrollments

    /// Applications whose codes an identity check (answers hashed at 1 iteration) released, with their keys' CSRs.
    struct Ready: Sendable {
        var token: ApplicationToken
        var reference: ReferenceNumber
        var code: AuthorizationCode
        var csr: [UInt8]
    }

    static func prepareEnrollments(_ authority: EmbeddedAuthority, count: Int) async throws -> [Ready] {
        var ready: [Ready] = []
        for token in try await approve(authority, count: count) {
            let verified = try await authority.verifyIdentity(token: token, answers: answers.map(SecurityAnswer.init))
            let record = try await authority.record(for: token)
            let key = try SigningKey.generate(.p256)
            ready.append(Ready(token: token, reference: try ReferenceNumber(parsing: record.reference), code: verified.authorization,
                               csr: try CertificateRequest.make(key: key, commonName: "Load Test", email: "load@example.com")))
        }
        return ready
    }

    static func enrollments(binary: String, work: URL, database: PostgresServer?, count: Int, seconds: Double, only: String? = nil) async throws
        -> [String: Any]
    {
        var result: [String: Any] = ["measure": "load-enroll"]
        var backends: [(String, String?)] = only == nil || only == "sqlite" ? [("sqlite", nil)] : []
        if let database, only == nil || only == "postgres" { backends.append(("postgres", try await database.createDatabase("enroll"))) }
        for (name, location) in backends {
            let dataDir = work.appendingPathComponent("enroll-\(name)")
            let registry = try await location.asyncMap { try await PostgresRegistry.open(try PostgresLocation(parsing: $0), password: database?.password) }
            note("load: preparing \(count) pre-verified applications on \(name)")
            let ready = try await prepareEnrollments(try await authority(dataDir, registry: registry, iterations: 1), count: count)
            await registry?.close()
            if let database, let location { try database.settle(location) }
            let server = try serve(binary, dataDir: dataDir, database: location, cores: nil)
            let http = try client(trusting: dataDir)
            let url = "https://127.0.0.1:\(server.port)/pkix/"
            let next = Shared(0)
            let rate = try await throughput(concurrency: 16, seconds: seconds) { _ in
                let index = next.value.withLock { value -> Int in
                    defer { value += 1 }
                    return value
                }
                guard index < ready.count else { throw BenchError("ran out of prepared applications: raise --count") }
                let item = ready[index]
                _ = try await CMPClientTransaction.enroll(
                    body: .p10cr(item.csr), reference: Array(item.reference.digits.utf8), secret: Array(item.code.revealed.utf8),
                    sender: try ParapheCMP.sender(token: item.token.value), implicitConfirm: false,
                    random: { SystemRandomSource().bytes($0) }, now: Date()
                ) { message in
                    var request = HTTPClientRequest(url: url)
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/pkixcmp")
                    request.body = .bytes(ByteBuffer(bytes: message))
                    let response = try await http.execute(request, timeout: .seconds(60))
                    return Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
                }
                return true
            }
            server.stop()
            try await http.shutdown()
            if let database, let location { try database.drop(location) }
            note(String(format: "load: CMP enrollments on %@: %.1f/s", name, rate))
            result[name] = rate
        }
        return result
    }

    // MARK: - Lookups at a fixed rate

    static func lookups(binary: String, work: URL, database: PostgresServer, applications: Int, rate: Int, seconds: Double) async throws -> [String: Any] {
        let location = try await database.createDatabase("lookups", reuse: "lookups_\(applications)")
        let dataDir = database.directory.appendingPathComponent("lookups-\(applications)-data")
        let registry = try await PostgresRegistry.open(try PostgresLocation(parsing: location), password: database.password)
        let authority = try await authority(dataDir, registry: registry, iterations: 1)
        _ = authority
        let present = try await registry.counts()["application"] ?? 0
        if present < applications {
            note("load: seeding \(present)..<\(applications) applications into PostgreSQL (kept for later runs)")
            try await PostgresSeed.seed(registry, from: present, to: applications)
        }
        await registry.close()
        let server = try serve(binary, dataDir: dataDir, database: location, cores: nil)
        let http = try client(trusting: dataDir)
        // Warm the connections (and the database's cache) before timing.
        for index in 0..<200 {
            guard let token = RegistryBenchmark.Seed.token(index * 4_999 % applications) else { continue }
            _ = try await http.execute(HTTPClientRequest(url: "https://127.0.0.1:\(server.port)/api/v1/applications/\(token.value)"), timeout: .seconds(10))
                .body.collect(upTo: 1 << 16)
        }
        let total = Int(Double(rate) * seconds)
        let interval = 1.0 / Double(rate)
        let latencies = Shared(Samples())
        let failures = Shared(0)
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            var generator = SystemRandomNumberGenerator()
            for index in 0..<total {
                let due = start + .nanoseconds(Int64(Double(index) * interval * 1e9))
                try await Task.sleep(until: due, clock: .continuous)
                guard let token = RegistryBenchmark.Seed.token(Int.random(in: 0..<applications, using: &generator)) else { continue }
                group.addTask {
                    let response = try await http.execute(
                        HTTPClientRequest(url: "https://127.0.0.1:\(server.port)/api/v1/applications/\(token.value)"), timeout: .seconds(10))
                    _ = try await response.body.collect(upTo: 1 << 16)
                    let elapsed = ContinuousClock.now - due
                    if response.status.code != 200 { failures.value.withLock { $0 += 1 } }
                    latencies.value.withLock { $0.add(UInt64(elapsed.components.seconds) * 1_000_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000)) }
                }
            }
            try await group.waitForAll()
        }
        server.stop()
        try await http.shutdown()
        let samples = latencies.value.withLock { $0 }
        let failed = failures.value.withLock { $0 }
        note("load: overview at \(rate)/s with \(applications) applications in PostgreSQL: \(samples.line()), failures \(failed)")
        return ["measure": "load-lookups", "applications": applications, "rate": rate, "latency": samples.json(), "failures": failed]
    }
}

/// The PostgreSQL cluster bench/run started (`scripts/postgres-cluster`), and a database per measure.
struct PostgresServer: Sendable {
    let url: String
    let password: String?
    let directory: URL

    /// A fresh database (or, with `reuse`, that one, created if missing, so a seeded one is kept across runs).
    func createDatabase(_ prefix: String, reuse: String? = nil) async throws -> String {
        let name = reuse ?? "\(prefix)_\(UUID().uuidString.lowercased().filter { $0.isLetter || $0.isNumber })"
        let base = String(url[..<(url.lastIndex(of: "/") ?? url.endIndex)])
        let exists = try run(["psql", url, "-At", "-c", "SELECT 1 FROM pg_database WHERE datname = '\(name)'"]).trimmingCharacters(in: .whitespacesAndNewlines) == "1"
        if !exists { _ = try run(["psql", url, "-c", "CREATE DATABASE \(name)"]) }
        return base + "/" + name
    }

    /// Brings a database just filled to rest before a timed window: its tables vacuumed and analyzed (what autovacuum
    /// would otherwise start during the window) and its writes checkpointed (what the checkpointer would otherwise
    /// flush during it).
    func settle(_ location: String) throws {
        _ = try run(["psql", location, "-q", "-c", "VACUUM ANALYZE", "-c", "CHECKPOINT"])
    }

    /// Drops a database a measure created (not a seeded one kept with `reuse`).
    func drop(_ location: String) throws {
        guard let slash = location.lastIndex(of: "/") else { return }
        _ = try run(["psql", url, "-q", "-c", "DROP DATABASE IF EXISTS \(location[location.index(after: slash)...])"])
    }

    private func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("\(arguments.joined(separator: " ")) failed") }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A value several tasks update under a lock.
final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}

/// Fills a fleet's database with synthetic applications as `approve` stores them (application, three
/// questions, one live pair of codes), in batches through UNNEST — the product has no bulk import, and
/// approving a million applications through it would hash three answers at 600,000 iterations each.
enum PostgresSeed {
    static func seed(_ registry: PostgresRegistry, from start: Int, to end: Int) async throws {
        guard case .tcp(let host, let port) = try PostgresLocation(parsing: registry.location.replacingOccurrences(of: "?sslmode=disable", with: "")).endpoint
        else { throw BenchError("the bench's database must be reached over TCP") }
        let location = try PostgresLocation(parsing: registry.location.replacingOccurrences(of: "?sslmode=disable", with: ""))
        let configuration = PostgresClient.Configuration(
            host: host, port: port, username: location.user, password: ProcessInfo.processInfo.environment["PGPASSWORD"],
            database: location.database, tls: .disable)
        let client = PostgresClient(configuration: configuration, backgroundLogger: .init(label: "paraphe.bench"))
        let running = Task { await client.run() }
        defer { running.cancel() }
        let began = nanoseconds()
        var index = start
        let now = Date().timeIntervalSince1970
        let salt = Data(repeating: 1, count: 16), hash = Data(repeating: 2, count: 32), sealed = Data(repeating: 3, count: 38)
        while index < end {
            let batch = index..<min(end, index + 5_000)
            let tokens = batch.compactMap { RegistryBenchmark.Seed.token($0)?.value }
            let references = batch.compactMap { RegistryBenchmark.Seed.reference($0)?.digits }
            guard tokens.count == batch.count, references.count == batch.count else { throw BenchError("synthetic codes failed") }
            let names = batch.map { "Seed \($0)" }, emails = batch.map { "seed\($0)@example.com" }
            try await client.withTransaction(logger: .init(label: "paraphe.bench")) { connection in
                try await connection.query(
                    """
                    INSERT INTO application (token, name, email, language, status, identity_failures, approved_at)
                    SELECT t, n, e, 'en', 'approved', 0, \(now) FROM UNNEST(\(tokens)::text[], \(names)::text[], \(emails)::text[]) AS s(t, n, e)
                    """, logger: .init(label: "paraphe.bench"))
                try await connection.query(
                    """
                    INSERT INTO code (application_id, reference, sealed_authorization, issued_at)
                    SELECT a.id, s.r, \(sealed), \(now) FROM UNNEST(\(tokens)::text[], \(references)::text[]) AS s(t, r) JOIN application a ON a.token = s.t
                    """, logger: .init(label: "paraphe.bench"))
                try await connection.query(
                    """
                    INSERT INTO question (application_id, position, text, salt, hash, iterations)
                    SELECT a.id, p, 'Question ' || p, \(salt), \(hash), 1
                    FROM UNNEST(\(tokens)::text[]) AS s(t) JOIN application a ON a.token = s.t CROSS JOIN generate_series(0, 2) AS p
                    """, logger: .init(label: "paraphe.bench"))
            }
            index = batch.upperBound
            if index % 100_000 == 0 || index == end {
                note(String(format: "load: %d / %d applications in PostgreSQL (%.0f s)", index, end, Double(nanoseconds() - began) / 1e9))
            }
        }
        _ = try await client.query("ANALYZE", logger: .init(label: "paraphe.bench"))
    }
}
