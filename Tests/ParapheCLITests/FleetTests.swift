import Foundation
import Testing

/// A throwaway database on the test cluster (`PARAPHE_TEST_POSTGRES_URL`, started by scripts/test) and
/// several `paraphe-authority serve` instances on it, provisioned as an operator would: the first
/// instance creates the CA and `authority.key`, the others get copies of those files.
final class Fleet {
    let root: URL
    let database: String
    private(set) var instances: [AuthorityServer] = []

    static var isAvailable: Bool { ProcessInfo.processInfo.environment["PARAPHE_TEST_POSTGRES_URL"] != nil }

    init(instances count: Int = 2, arguments: [String] = ["--rate-limit", "0"]) throws {
        let base = try #require(ProcessInfo.processInfo.environment["PARAPHE_TEST_POSTGRES_URL"])
        root = FileManager.default.temporaryDirectory.appendingPathComponent("paraphe-fleet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let name = "fleet_" + UUID().uuidString.lowercased().filter { $0.isLetter || $0.isNumber }
        let created = try run(URL(fileURLWithPath: "/usr/bin/psql"), [base, "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"])
        guard created.status == 0 else { throw HarnessError.missing("cannot create a database: \(created.stderr)") }
        database = String(base[..<(base.lastIndex(of: "/") ?? base.endIndex)]) + "/" + name
        for index in 0..<count {
            let directory = root.appendingPathComponent("instance-\(index)")
            if index > 0 {
                // The keys every instance must share, copied as deploy/README.md says (0600, the same owner).
                let first = root.appendingPathComponent("instance-0")
                try FileManager.default.createDirectory(at: directory.appendingPathComponent("ca"), withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
                try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
                for file in ["authority.key", "ca/ca-key.pem", "ca/ca-cert.pem"] {
                    try FileManager.default.copyItem(at: first.appendingPathComponent(file), to: directory.appendingPathComponent(file))
                }
            }
            instances.append(try AuthorityServer(dataDir: directory.path, arguments: arguments + ["--database", database]))
        }
    }

    deinit {
        for instance in instances { instance.stop() }
        try? FileManager.default.removeItem(at: root)
    }

    /// An operator command on the first instance's host.
    func authority(_ arguments: [String], instance: Int = 0) throws -> RunResult {
        try run(try parapheExecutable(name: "paraphe-authority-testable"),
                arguments + ["--data-dir", instances[instance].dataDir, "--database", database])
    }

    /// One value from the database.
    func query(_ sql: String) throws -> String {
        let result = try run(URL(fileURLWithPath: "/usr/bin/psql"), [database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        guard result.status == 0 else { throw HarnessError.missing("psql: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Approves an application (three questions, answers Montréal / Rex / Bleu); its token.
    func approve() throws -> String {
        let answers = root.appendingPathComponent("answers")
        try "Montréal\nRex\nBleu\n".write(to: answers, atomically: true, encoding: .utf8)
        let result = try authority(["approve", "--name", "Jeanne Tremblay", "--email", "jeanne@example.com",
                                    "--question", "Where were you born?", "--question", "Your first pet?", "--question", "Your favourite colour?",
                                    "--answers-file", answers.path])
        guard result.status == 0, let token = result.stdout.split(separator: "/").last else { throw HarnessError.missing("approve: \(result.stderr)") }
        return token.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Starts every command at once (their own processes, so the requests really overlap) and waits for all.
func runConcurrently(_ commands: [(URL, [String])]) throws -> [RunResult] {
    var running: [(Process, Pipe, Pipe)] = []
    for (executable, arguments) in commands {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = childEnvironment([:])
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        running.append((process, out, err))
    }
    for (process, _, _) in running { try process.run() }
    return running.map { process, out, err in
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return RunResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self),
                         stdoutBytes: Array(stdout), stderrBytes: Array(stderr))
    }
}

/// Several `paraphe-authority serve` instances on one PostgreSQL database: every rule still exact.
@Suite(.serialized, .enabled(if: Fleet.isAvailable)) struct FleetTests {
    func curl(_ server: AuthorityServer, _ path: String, json: String) -> (URL, [String]) {
        (URL(fileURLWithPath: "/usr/bin/curl"),
         ["-s", "--cacert", server.dataDir + "/ca/ca-cert.pem", "-X", "POST", "-H", "Content-Type: application/json",
          "--data-binary", json, "-w", "\n%{http_code}", server.url + path])
    }

    func status(_ result: RunResult) -> Int { Int(result.stdout.split(separator: "\n").last ?? "") ?? -1 }

    @Test func fiftyWrongAnswersAtOnceThroughTwoInstancesCountExactlyFive() throws {
        let fleet = try Fleet()
        let token = try fleet.approve()
        let wrong = #"{"answers":["Lyon","Felix","Vert"]}"#
        let results = try runConcurrently((0..<50).map { fleet.instances[$0 % 2] }.map { curl($0, "/api/v1/applications/\(token)/identity", json: wrong) })
        let statuses = results.map(status)
        // Wrong answers (403) until the lock, locked (423) after; never an error.
        #expect(statuses.allSatisfy { $0 == 403 || $0 == 423 }, "\(statuses)")
        #expect(statuses.filter { $0 == 403 }.count == 4, "4 refusals with attempts left, then the 5th locks: \(statuses)")
        #expect(try fleet.query("SELECT identity_failures || ' ' || status FROM application") == "5 identityLocked")
        #expect(try fleet.query("SELECT count(*) FROM audit WHERE event = 'identityFailed'") == "4")
        #expect(try fleet.query("SELECT count(*) FROM audit WHERE event = 'identityLocked'") == "1")
        // The right answers no longer open it, through either instance.
        for instance in fleet.instances {
            let right = try runConcurrently([curl(instance, "/api/v1/applications/\(token)/identity", json: #"{"answers":["Montreal","rex","bleu"]}"#)])
            #expect(status(right[0]) == 423)
        }
    }

    @Test func tenEnrollmentsAtOnceWithOnePairOfCodesIssueExactlyOneCertificate() throws {
        let fleet = try Fleet()
        let token = try fleet.approve()
        let verified = try runConcurrently([curl(fleet.instances[1], "/api/v1/applications/\(token)/identity", json: #"{"answers":["Montreal","rex","x"]}"#)])
        let code = String(try #require(verified[0].stdout.firstMatch(of: /"authorizationCode":"([0-9A-Z]+)"/)).1)
        let show = try fleet.authority(["show", token, "--json"]).stdout
        let reference = String(try #require(show.firstMatch(of: /"reference" : "([0-9-]+)"/)).1).replacingOccurrences(of: "-", with: "")

        var commands: [(URL, [String])] = []
        for index in 0..<10 {
            let key = fleet.root.appendingPathComponent("key-\(index).pem").path
            #expect(try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]).status == 0)
            let server = fleet.instances[index % 2]
            commands.append((URL(fileURLWithPath: "/usr/bin/openssl"),
                             ["cmp", "-cmd", "ir", "-server", "127.0.0.1:\(server.port)", "-path", "pkix/", "-tls_used",
                              "-tls_trusted", server.dataDir + "/ca/ca-cert.pem", "-ref", reference, "-secret", "pass:\(code)",
                              "-newkey", key, "-subject", "/CN=x", "-certout", fleet.root.appendingPathComponent("cert-\(index).pem").path,
                              "-unprotected_errors"]))
        }
        let results = try runConcurrently(commands)
        let issued = (0..<10).filter { FileManager.default.fileExists(atPath: fleet.root.appendingPathComponent("cert-\($0).pem").path) }
        #expect(issued.count == 1, "\(results.map { $0.status })")
        #expect(results.filter { $0.status == 0 }.count == 1)
        #expect(try fleet.query("SELECT count(*) FROM certificate") == "1")
        #expect(try fleet.query("SELECT status FROM application") == "activated")
        #expect(try fleet.query("SELECT count(*) FROM audit WHERE event = 'certificateIssued'") == "1")
        if let winner = issued.first {
            let serial = try openssl(["x509", "-in", fleet.root.appendingPathComponent("cert-\(winner).pem").path, "-noout", "-serial"]).stdout
            #expect(serial.contains(try fleet.query("SELECT serial FROM certificate")))
        }
    }

    @Test func anInstanceWithAnotherCARefusesToStart() throws {
        let fleet = try Fleet(instances: 1)
        let stranger = fleet.root.appendingPathComponent("stranger")
        let result = try run(try parapheExecutable(name: "paraphe-authority-testable"),
                             ["serve", "--data-dir", stranger.path, "--database", fleet.database, "--listen", "127.0.0.1:0"])
        #expect(result.status == 78, "\(result.stderr)")
        #expect(result.stderr.contains("its CA is not the one the registry was set up with"), "\(result.stderr)")
        #expect(result.stdout.isEmpty, "it never listened")
        #expect(try fleet.query("SELECT count(*) FROM authority") == "1")
    }
}
