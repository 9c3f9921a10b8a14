import Activation
import AuthorityInterface
import AuthorityPostgres
import Crypto
import Foundation
import Logging
import ParapheTestSupport
import PostgresNIO
import SwiftASN1
import Synchronization
import Testing
import X509
import _CryptoExtras

@testable import Authority

/// A fresh data directory under the system temporary directory, a manual clock and a seeded random source.
final class TestBed: Sendable {
    let directory: URL
    let time: ManualTimeSource
    let random: SeededRandomSource
    let iterations: Int

    /// 2026-05-28 20:26:40 UTC, a fixed start for every clock.
    static let start = Date(timeIntervalSince1970: 1_780_000_000)

    init(seed: UInt64 = 1, iterations: Int = 1_000) {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("paraphe-authority-tests")
            .appendingPathComponent(UUID().uuidString)
            .appendingPathComponent("data")
        time = ManualTimeSource(Self.start)
        random = SeededRandomSource(seed: seed)
        self.iterations = iterations
    }

    var configuration: AuthorityConfiguration {
        AuthorityConfiguration(
            dataDirectory: directory, answerHashIterations: iterations, time: time, random: random, operatorName: "tester")
    }

    /// A new authority instance on the same data directory (as a second process would open it): on its
    /// SQLite registry, or — when the suite runs against PostgreSQL (`TestDatabase`) — on this bed's own
    /// database there, through a pool of its own (as a second instance would).
    func authority() async throws -> EmbeddedAuthority {
        guard let server = TestDatabase.server else { return try EmbeddedAuthority(configuration: configuration) }
        let registry = try await PostgresRegistry.open(
            try await TestDatabase.database(for: directory, on: server), password: server.password, maximumConnections: 4)
        registries.withLock { $0.append(registry) }
        return try await EmbeddedAuthority.open(configuration: configuration, registry: registry)
    }

    private let registries = Mutex<[PostgresRegistry]>([])

    /// The bed's PostgreSQL database as `pg_dump` writes it (nil on SQLite).
    func postgresDump() async throws -> Data? {
        guard let server = TestDatabase.server else { return nil }
        return try TestDatabase.run("pg_dump", try await TestDatabase.database(for: directory, on: server), password: server.password, []).data
    }

    /// Runs `sql` with psql on the bed's PostgreSQL database.
    func psql(_ sql: String) async throws -> (status: Int32, output: String) {
        guard let server = TestDatabase.server else { throw AuthorityError(.storage, "not on PostgreSQL") }
        let result = try TestDatabase.run(
            "psql", try await TestDatabase.database(for: directory, on: server), password: server.password, ["-v", "ON_ERROR_STOP=1", "-c", sql])
        return (result.status, String(decoding: result.data, as: UTF8.self))
    }

    /// Starts `sql` in psql on the bed's PostgreSQL database without waiting for it (another instance's transaction).
    func psqlInBackground(_ sql: String) async throws -> Process {
        guard let server = TestDatabase.server else { throw AuthorityError(.storage, "not on PostgreSQL") }
        let database = try await TestDatabase.database(for: directory, on: server)
        guard case .tcp(let host, let port) = database.endpoint else { throw AuthorityError(.storage, "the test server must be reached over TCP") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "psql", "-h", host, "-p", String(port), "-U", database.user, "-d", database.database, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = server.password
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory.deletingLastPathComponent())
        let open = registries.withLock { list in
            defer { list = [] }
            return list
        }
        if !open.isEmpty { Task { for registry in open { await registry.close() } } }
    }

    /// Every regular file under the data directory.
    func allFiles() -> [URL] {
        guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return []
        }
        return enumerator.compactMap { $0 as? URL }.filter {
            (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true
        }
    }

    func mails() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: directory.appendingPathComponent("mail/new"), includingPropertiesForKeys: nil)
    }
}

/// The registry backend the suite runs on: SQLite, unless `PARAPHE_TEST_REGISTRY=postgres` and
/// `PARAPHE_TEST_POSTGRES_URL` (with `PGPASSWORD`) name a PostgreSQL server (scripts/test runs the registry
/// suites a second time so, against the cluster it starts).
///
/// Each test bed gets a database of its own.
enum TestDatabase {
    struct Server: Sendable {
        var location: PostgresLocation
        var password: String?
    }

    static let server: Server? = {
        let environment = ProcessInfo.processInfo.environment
        guard environment["PARAPHE_TEST_REGISTRY"] == "postgres", let url = environment["PARAPHE_TEST_POSTGRES_URL"],
            let location = try? PostgresLocation(parsing: url)
        else { return nil }
        return Server(location: location, password: environment["PGPASSWORD"])
    }()

    static var isPostgres: Bool { server != nil }

    private static let created = Mutex<[String: Task<PostgresLocation, any Error>]>([:])

    /// The database of the bed at `directory` (created once, whatever number of instances ask at once).
    static func database(for directory: URL, on server: Server) async throws -> PostgresLocation {
        let name = "t_" + directory.deletingLastPathComponent().lastPathComponent.lowercased().filter { $0.isLetter || $0.isNumber }
        let task = created.withLock { tasks in
            if let existing = tasks[name] { return existing }
            let task = Task { try await create(name, on: server) }
            tasks[name] = task
            return task
        }
        return try await task.value
    }

    /// Runs a PostgreSQL client program on `database` (the password in its environment, never in argv).
    static func run(_ program: String, _ database: PostgresLocation, password: String?, _ arguments: [String]) throws -> (status: Int32, data: Data) {
        guard case .tcp(let host, let port) = database.endpoint else { throw AuthorityError(.storage, "the test server must be reached over TCP") }
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = password
        return try runProcess(
            URL(fileURLWithPath: "/usr/bin/env"),
            [program, "-h", host, "-p", String(port), "-U", database.user, "-d", database.database] + arguments,
            environment: environment)
    }

    private static func create(_ name: String, on server: Server) async throws -> PostgresLocation {
        guard case .tcp(let host, let port) = server.location.endpoint else {
            throw AuthorityError(.storage, "the test server must be reached over TCP")
        }
        let logger = Logger(label: "paraphe.tests")
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: host, port: port, username: server.location.user, password: server.password, database: server.location.database, tls: .disable),
            id: 1, logger: logger)
        do {
            try await connection.query("CREATE DATABASE \(unescaped: name)", logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
        var location = server.location
        location.database = name
        return location
    }
}

/// The application most tests approve.
enum Sample {
    static let questions = ["Where were you born?", "What was your first pet's name?", "What is your favourite fruit?"]
    /// Distinctive answers, so a raw byte search cannot match by chance.
    static let answers = ["Montréal", "Zéphyrin Quokkabert", "Ramboutan Xylophage"]
    static let subscriber = Subscriber(name: "Jeanne Tremblay", email: "jeanne@example.com", language: .en)

    static func request(_ subscriber: Subscriber = subscriber, answers: [String] = answers, approvedAt: Date? = nil) -> ApprovalRequest {
        ApprovalRequest(subscriber: subscriber, questions: questions, answers: answers.map(SecurityAnswer.init), approvedAt: approvedAt)
    }

    static var rightAnswers: [SecurityAnswer] { answers.map(SecurityAnswer.init) }
    /// One right answer out of three: a failed attempt.
    static var wrongAnswers: [SecurityAnswer] {
        [SecurityAnswer("Montreal"), SecurityAnswer("Pamplemousse Violet"), SecurityAnswer("Kiwano Ardoise")]
    }
}

/// A PKCS#10 request signed by a fresh key.
struct TestKey {
    enum Kind { case p256, rsa2048 }
    let privateKey: Certificate.PrivateKey
    let algorithm: Certificate.SignatureAlgorithm

    init(_ kind: Kind = .p256) throws {
        switch kind {
        case .p256:
            privateKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
            algorithm = .ecdsaWithSHA256
        case .rsa2048:
            privateKey = Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits2048))
            algorithm = .sha256WithRSAEncryption
        }
    }

    func csr(commonName: String = "Someone Else") throws -> [UInt8] {
        let request = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName(commonName) }, privateKey: privateKey,
            attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: algorithm)
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        return serializer.serializedBytes
    }
}

/// One email read back from the Maildir.
struct ParsedMail {
    var headers: [String: String] = [:]
    var headerOrder: [String] = []
    var bodyLines: [String] = []
    var raw: String

    init(_ url: URL) throws {
        raw = try String(contentsOf: url, encoding: .utf8)
        let parts = raw.components(separatedBy: "\n\n")
        var current: String?
        for line in parts[0].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(" ") || line.hasPrefix("\t"), let name = current {
                headers[name, default: ""] += " " + line.trimmingCharacters(in: .whitespaces)
            } else if let colon = line.firstIndex(of: ":") {
                let name = String(line[..<colon])
                headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                headerOrder.append(name)
                current = name
            }
        }
        bodyLines = parts.dropFirst().joined(separator: "\n\n").components(separatedBy: "\n")
    }

    /// Decodes RFC 2047 `=?UTF-8?B?…?=` words (white space between adjacent words is dropped).
    static func decodeHeader(_ value: String) -> String {
        let words = value.split(separator: " ")
        guard words.allSatisfy({ $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") }) else { return value }
        var bytes = Data()
        for word in words {
            let encoded = word.dropFirst("=?UTF-8?B?".count).dropLast(2)
            bytes += Data(base64Encoded: String(encoded)) ?? Data()
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Runs `/usr/bin/openssl` and returns its exit status and its output (stdout, then stderr).
func openssl(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let result = try runOpenSSL(arguments)
    return (result.status, result.output)
}

/// Runs a program to completion; its exit status and its standard output and error together.
func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, data: Data) {
    let result = try runProgram(executable, arguments, environment: environment)
    return (result.status, Data(result.stdoutBytes + result.stderrBytes))
}

/// Runs `sqlite3` on the registry (a second, independent SQLite client).
func sqlite(_ database: URL, _ sql: String) throws -> (status: Int32, output: String) {
    let result = try runProgram(URL(fileURLWithPath: "/usr/bin/sqlite3"), [database.path, sql])
    return (result.status, result.output)
}

/// The error `body` throws, or nil.
func caught(_ body: () async throws -> some Any) async -> (any Error)? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error
    }
}

/// The `ActivationError.Code` thrown by `body`, or nil if it threw nothing or something else.
func activationCode(_ body: () async throws -> some Any) async -> ActivationError.Code? {
    (await caught(body) as? ActivationError)?.code
}

func pem(_ der: [UInt8]) -> String {
    var text = "-----BEGIN CERTIFICATE-----\n"
    let base64 = Data(der).base64EncodedString()
    var index = base64.startIndex
    while index < base64.endIndex {
        let end = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
        text += base64[index..<end] + "\n"
        index = end
    }
    return text + "-----END CERTIFICATE-----\n"
}

func mode(_ url: URL) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
    return ((attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1) & 0o777
}

extension EmbeddedAuthority {
    /// The SQLite registry behind an authority opened on a data directory (for tests that read its tables).
    var sqlite: SQLiteRegistry {
        get throws {
            guard let registry = registry as? SQLiteRegistry else { throw AuthorityError(.storage, "not an SQLite registry") }
            return registry
        }
    }
}
