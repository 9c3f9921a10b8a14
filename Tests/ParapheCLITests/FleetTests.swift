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

    init(instances count: Int = 2, arguments: [String] = ["--rate-limit", "0", "--identity-checks", "0"]) throws {
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
                try FileManager.default.createDirectory(
                    at: directory.appendingPathComponent("ca"), withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
                try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
                for file in ["authority.key", "ca/ca-key.pem", "ca/ca-cert.pem"] {
                    try FileManager.default.copyItem(at: first.appendingPathComponent(file), to: directory.appendingPathComponent(file))
                }
            }
            instances.append(
                try AuthorityServer(
                    dataDir: directory.path, arguments: arguments + ["--database", database, "--mail", "maildir:" + mailDirectory.path]))
        }
    }

    deinit {
        for instance in instances { instance.stop() }
        try? FileManager.default.removeItem(at: root)
    }

    /// The Maildir every instance delivers to.
    var mailDirectory: URL { root.appendingPathComponent("mail") }

    /// An operator command on the first instance's host.
    func authority(_ arguments: [String], instance: Int = 0, environment: [String: String] = [:]) throws -> RunResult {
        try run(
            try parapheExecutable(name: "paraphe-authority-testable"),
            arguments + ["--data-dir", instances[instance].dataDir, "--database", database, "--mail", "maildir:" + mailDirectory.path],
            environment: environment)
    }

    /// One value from the database.
    func query(_ sql: String) throws -> String {
        let result = try run(URL(fileURLWithPath: "/usr/bin/psql"), [database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        guard result.status == 0 else { throw HarnessError.missing("psql: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Approves an application (three questions, answers Montréal / Rex / Bleu); its token.
    func approve(environment: [String: String] = [:]) throws -> String {
        let answers = root.appendingPathComponent("answers")
        try "Montréal\nRex\nBleu\n".write(to: answers, atomically: true, encoding: .utf8)
        let result = try authority(
            [
                "approve", "--name", "Jeanne Tremblay", "--email", "jeanne@example.com",
                "--question", "Where were you born?", "--question", "Your first pet?", "--question", "Your favourite colour?",
                "--answers-file", answers.path,
            ], environment: environment)
        guard result.status == 0, let token = result.stdout.split(separator: "/").last else {
            throw HarnessError.missing("approve: \(result.stderr)")
        }
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
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        running.append((process, out, err))
    }
    for (process, _, _) in running { try process.run() }
    return running.map { process, out, err in
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return RunResult(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self),
            stdoutBytes: Array(stdout), stderrBytes: Array(stderr))
    }
}

/// Several `paraphe-authority serve` instances on one PostgreSQL database: every rule still exact.
@Suite(.serialized, .enabled(if: Fleet.isAvailable)) struct FleetTests {
    func curl(_ server: AuthorityServer, _ path: String, json: String) -> (URL, [String]) {
        (
            URL(fileURLWithPath: "/usr/bin/curl"),
            [
                "-s", "--cacert", server.dataDir + "/ca/ca-cert.pem", "-X", "POST", "-H", "Content-Type: application/json",
                "--data-binary", json, "-w", "\n%{http_code}", server.url + path,
            ]
        )
    }

    func status(_ result: RunResult) -> Int { Int(result.stdout.split(separator: "\n").last ?? "") ?? -1 }

    @Test func fiftyWrongAnswersAtOnceThroughTwoInstancesCountExactlyFive() throws {
        let fleet = try Fleet()
        let token = try fleet.approve()
        let wrong = #"{"answers":["Lyon","Felix","Vert"]}"#
        let results = try runConcurrently(
            (0..<50).map { fleet.instances[$0 % 2] }.map { curl($0, "/api/v1/applications/\(token)/identity", json: wrong) })
        let statuses = results.map(status)
        // Wrong answers (403) until the lock, locked (423) after, or — beyond what the instances' CPU workers take at
        // once — busy (503, nothing counted, retry); never an error.
        #expect(statuses.allSatisfy { $0 == 403 || $0 == 423 || $0 == 503 }, "\(statuses)")
        #expect(statuses.filter { $0 != 503 }.count >= 5, "\(statuses)")
        #expect(statuses.filter { $0 == 403 }.count == 4, "4 refusals with attempts left, then the 5th locks: \(statuses)")
        #expect(try fleet.query("SELECT identity_failures || ' ' || status FROM application") == "5 identityLocked")
        #expect(try fleet.query("SELECT count(*) FROM audit WHERE event = 'identityFailed'") == "4")
        #expect(try fleet.query("SELECT count(*) FROM audit WHERE event = 'identityLocked'") == "1")
        // The right answers no longer open it, through either instance.
        for instance in fleet.instances {
            let right = try runConcurrently([
                curl(instance, "/api/v1/applications/\(token)/identity", json: #"{"answers":["Montreal","rex","bleu"]}"#)
            ])
            #expect(status(right[0]) == 423)
        }
    }

    @Test func tenEnrollmentsAtOnceWithOnePairOfCodesIssueExactlyOneCertificate() throws {
        let fleet = try Fleet()
        let token = try fleet.approve()
        let verified = try runConcurrently([
            curl(fleet.instances[1], "/api/v1/applications/\(token)/identity", json: #"{"answers":["Montreal","rex","x"]}"#)
        ])
        let code = String(try #require(verified[0].stdout.firstMatch(of: /"authorizationCode":"([0-9A-Z]+)"/)).1)
        let show = try fleet.authority(["show", token, "--json"]).stdout
        let reference = String(try #require(show.firstMatch(of: /"reference" : "([0-9-]+)"/)).1).replacingOccurrences(of: "-", with: "")

        var commands: [(URL, [String])] = []
        for index in 0..<10 {
            let key = fleet.root.appendingPathComponent("key-\(index).pem").path
            #expect(try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]).status == 0)
            let server = fleet.instances[index % 2]
            commands.append(
                (
                    URL(fileURLWithPath: "/usr/bin/openssl"),
                    [
                        "cmp", "-cmd", "ir", "-server", "127.0.0.1:\(server.port)", "-path", "pkix/", "-tls_used",
                        "-tls_trusted", server.dataDir + "/ca/ca-cert.pem", "-ref", reference, "-secret", "pass:\(code)",
                        "-newkey", key, "-subject", "/CN=x", "-certout", fleet.root.appendingPathComponent("cert-\(index).pem").path,
                        "-unprotected_errors",
                    ]
                ))
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

    /// Issue 22, hole 2: with the code, reference numbers cannot be guessed — 5 failed token-less requests from one
    /// address, spread over two instances, refuse its next ones (counted in the shared database), even the right one.
    @Test func failedTokenlessRequestsAreLimitedPerAddressAcrossInstances() throws {
        let fleet = try Fleet()
        let token = try fleet.approve()
        let verified = try runConcurrently([
            curl(fleet.instances[0], "/api/v1/applications/\(token)/identity", json: #"{"answers":["Montreal","rex","x"]}"#)
        ])
        let code = String(try #require(verified[0].stdout.firstMatch(of: /"authorizationCode":"([0-9A-Z]+)"/)).1)
        let show = try fleet.authority(["show", token, "--json"]).stdout
        let reference = String(try #require(show.firstMatch(of: /"reference" : "([0-9-]+)"/)).1).replacingOccurrences(of: "-", with: "")
        let key = fleet.root.appendingPathComponent("key.pem").path
        #expect(try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]).status == 0)
        func enroll(_ reference: String, through server: AuthorityServer) throws -> RunResult {
            try openssl([
                "cmp", "-cmd", "ir", "-server", "127.0.0.1:\(server.port)", "-path", "pkix/", "-tls_used",
                "-tls_trusted", server.dataDir + "/ca/ca-cert.pem", "-ref", reference, "-secret", "pass:\(code)",
                "-newkey", key, "-subject", "/CN=x", "-certout", fleet.root.appendingPathComponent("cert.pem").path, "-unprotected_errors",
            ])
        }
        // Five guesses (valid check digits, no live codes), alternately through each instance.
        var guesses: [String] = []
        var body = 10_000_000
        while guesses.count < 5 {
            body += 1
            let candidate = String(body) + String(dammCheckDigit(String(body)))
            if candidate != reference { guesses.append(candidate) }
        }
        for (index, guess) in guesses.enumerated() {
            let refused = try enroll(guess, through: fleet.instances[index % 2])
            #expect(refused.status != 0 && (refused.stdout + refused.stderr).contains("badMessageCheck"), "\(refused.stderr)")
        }
        #expect(try fleet.query("SELECT count(*) FROM sender_failure WHERE client = '127.0.0.1'") == "5")
        for instance in fleet.instances {
            let refused = try enroll(reference, through: instance)
            #expect(refused.status != 0 && (refused.stdout + refused.stderr).contains("notAuthorized"), "\(refused.stderr)")
        }
        #expect(try fleet.query("SELECT status || ' ' || (SELECT wrong_references FROM code WHERE NOT superseded) FROM application") == "approved 0")
        #expect(try fleet.query("SELECT count(*) FROM certificate") == "0")
    }

    @Test func aMailCommittedByAProcessKilledBeforeDeliveringGoesOutOnceFromAnotherInstance() throws {
        let fleet = try Fleet()
        // The operator's approval dies (SIGKILL) right after its transaction committed, before delivering.
        let crashed = try fleet.authority(
            [
                "approve", "--name", "Jeanne Tremblay", "--email", "jeanne@example.com", "--question", "q1?", "--question", "q2?", "--question",
                "q3?",
                "--answer", "a", "--answer", "b", "--answer", "c",
            ],
            environment: ["PARAPHE_TEST_CRASH_AT": "mailCommitted"])
        #expect(crashed.status == 137 || crashed.status == 9 || crashed.status < 0 || crashed.stdout.isEmpty, "killed: \(crashed.status)")
        #expect(try fleet.query("SELECT count(*) FROM application") == "1", "the approval was committed")
        let new = fleet.mailDirectory.appendingPathComponent("new")
        // One of the two serving instances claims it (each looks every 5 s) and delivers it, once.
        var delivered: [String] = []
        for _ in 0..<40 where delivered.isEmpty {
            Thread.sleep(forTimeInterval: 0.5)
            delivered = (try? FileManager.default.contentsOfDirectory(atPath: new.path)) ?? []
        }
        #expect(delivered.count == 1, "\(delivered)")
        Thread.sleep(forTimeInterval: 6)  // another round of both instances: nothing more
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: new.path)) ?? []).count == 1)
        #expect(try fleet.query("SELECT count(*) || ' ' || count(delivered_at) || ' ' || sum(length(message)) FROM outbox") == "1 1 0")
        let mail = try String(contentsOf: new.appendingPathComponent(try #require(delivered.first)), encoding: .utf8)
        let token = try fleet.query("SELECT token FROM application")
        #expect(mail.replacingOccurrences(of: "-", with: "").contains(token) && mail.contains("jeanne@example.com>"))
    }

    @Test func aSingleMachineMovesUpWithItsAttemptsAndAuditAndKeepsWorking() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let first = String(try Applicant().approve(in: scratch).split(separator: "/").last ?? "")
        let second = String(try Applicant().approve(in: scratch).split(separator: "/").last ?? "")
        let wrong = try runConcurrently([curl(server, "/api/v1/applications/\(first)/identity", json: #"{"answers":["a","b","c"]}"#)])
        #expect(status(wrong[0]) == 403)
        let before = try scratch.authority(["audit"]).stdout
        server.stop()

        // An empty database of the cluster, and the single machine's registry copied into it.
        let base = try #require(ProcessInfo.processInfo.environment["PARAPHE_TEST_POSTGRES_URL"])
        let name = "moved_" + UUID().uuidString.lowercased().filter { $0.isLetter || $0.isNumber }
        #expect(try run(URL(fileURLWithPath: "/usr/bin/psql"), [base, "-c", "CREATE DATABASE \(name)"]).status == 0)
        let database = String(base[..<(base.lastIndex(of: "/") ?? base.endIndex)]) + "/" + name
        let registry = "sqlite:" + server.dataDir + "/registry.sqlite"
        let migrated = try run(try parapheExecutable(name: "paraphe-authority-testable"), ["migrate", "--from", registry, "--to", database])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(
            migrated.stdout.contains(/application +2 +2\n/) && migrated.stdout.contains(/question +6 +6\n/) && !migrated.stdout.contains("differs"),
            "\(migrated.stdout)")
        #expect(migrated.stderr.contains("Copied and verified"))
        // Again into the same database: refused, nothing doubled.
        let again = try run(try parapheExecutable(name: "paraphe-authority-testable"), ["migrate", "--from", registry, "--to", database])
        #expect(again.status != 0 && again.stderr.contains("already holds 2 applications"), "\(again.stderr)")

        // The service on PostgreSQL: the same applications, the attempt still counted, the audit log carried over.
        let moved = try AuthorityServer(dataDir: server.dataDir, arguments: ["--rate-limit", "0", "--database", database])
        defer { moved.stop() }
        let operatorCommand = { (arguments: [String]) throws -> RunResult in
            try run(try parapheExecutable(name: "paraphe-authority-testable"), arguments + ["--data-dir", server.dataDir, "--database", database])
        }
        #expect(try operatorCommand(["show", first, "--json"]).stdout.contains("\"identityAttemptsRemaining\" : 4"))
        #expect(try operatorCommand(["show", second, "--json"]).stdout.contains("\"identityAttemptsRemaining\" : 5"))
        let after = try operatorCommand(["audit"]).stdout
        #expect(after.hasPrefix(before.trimmingCharacters(in: .newlines)), "the audit log is carried over in order")
        let right = try runConcurrently([curl(moved, "/api/v1/applications/\(second)/identity", json: #"{"answers":["Montreal","rex","x"]}"#)])
        #expect(status(right[0]) == 200)
        // A new approval goes on after the copied ids; the single machine's registry still works on its own.
        #expect(try operatorCommand(["list"]).stdout.split(separator: "\n").count == 2)
        let answers = try scratch.file("answers-new", "a\nb\nc\n")
        #expect(
            try operatorCommand([
                "approve", "--name", "Luc Martin", "--email", "luc@example.com", "--question", "q1?", "--question", "q2?",
                "--question", "q3?", "--answers-file", answers,
            ]).status == 0)
        #expect(try operatorCommand(["list"]).stdout.split(separator: "\n").count == 3)
        #expect(try scratch.authority(["list"]).stdout.split(separator: "\n").count == 2)
    }

    @Test func healthSaysWhenTheDatabaseIsGoneAndMetricsCountWithoutPersonalData() throws {
        let fleet = try Fleet(instances: 1)
        let server = fleet.instances[0]
        let token = try fleet.approve()
        _ = try runConcurrently([
            curl(server, "/api/v1/applications/\(token)/identity", json: #"{"answers":["a","b","c"]}"#),
            curl(server, "/api/v1/applications/\(token)/identity", json: #"{"answers":["Montreal","rex","x"]}"#),
        ])
        let get = { (path: String) throws -> RunResult in
            try run(
                URL(fileURLWithPath: "/usr/bin/curl"),
                ["-s", "--cacert", server.dataDir + "/ca/ca-cert.pem", "-w", "\n%{http_code}", server.url + path])
        }
        let healthy = try get("/health")
        #expect(
            healthy.stdout.hasSuffix("\n200") && healthy.stdout.contains(#""status":"ok""#) && healthy.stdout.contains(#""database":"reachable""#),
            "\(healthy.stdout)")
        let metrics = try get("/metrics").stdout
        #expect(
            metrics.contains(#"paraphe_http_requests_total{route="/api/v1/applications/{token}/identity",method="POST",status="200"} 1"#),
            "\(metrics)")
        #expect(
            metrics.contains(#"paraphe_identity_checks_total{outcome="wrongAnswers"} 1"#)
                && metrics.contains(#"paraphe_identity_checks_total{outcome="verified"} 1"#))
        #expect(metrics.contains("paraphe_http_request_duration_seconds_bucket"))
        #expect(!metrics.contains(token) && !metrics.contains("jeanne") && !metrics.contains("127.0.0.1"), "no token, address or email")

        // The database goes away: the instance says so (503), so a load balancer sends the kiosks elsewhere.
        let name = String(fleet.database.split(separator: "/").last ?? "")
        let base = try #require(ProcessInfo.processInfo.environment["PARAPHE_TEST_POSTGRES_URL"])
        #expect(try run(URL(fileURLWithPath: "/usr/bin/psql"), [base, "-c", "DROP DATABASE \(name) WITH (FORCE)"]).status == 0)
        // /health answers from a probe at most 2 s old: within a few seconds it says so.
        var gone = try get("/health")
        for _ in 0..<20 where !gone.stdout.hasSuffix("\n503") {
            Thread.sleep(forTimeInterval: 0.5)
            gone = try get("/health")
        }
        #expect(gone.stdout.hasSuffix("\n503") && gone.stdout.contains(#""database":"unreachable""#), "\(gone.stdout)")
    }

    @Test func anInstanceWithAnotherCARefusesToStart() throws {
        let fleet = try Fleet(instances: 1)
        let stranger = fleet.root.appendingPathComponent("stranger")
        let result = try run(
            try parapheExecutable(name: "paraphe-authority-testable"),
            ["serve", "--data-dir", stranger.path, "--database", fleet.database, "--listen", "127.0.0.1:0"])
        #expect(result.status == 78, "\(result.stderr)")
        #expect(result.stderr.contains("its CA is not the one the registry was set up with"), "\(result.stderr)")
        #expect(result.stdout.isEmpty, "it never listened")
        #expect(try fleet.query("SELECT count(*) FROM authority") == "1")
    }
}

/// The Damm check digit of `digits` (the reference number's last digit).
func dammCheckDigit(_ digits: String) -> Int {
    let table: [[Int]] = [
        [0, 3, 1, 7, 5, 9, 8, 6, 4, 2], [7, 0, 9, 2, 1, 5, 4, 8, 6, 3], [4, 2, 0, 6, 8, 7, 1, 3, 5, 9], [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
        [6, 1, 2, 3, 0, 4, 5, 9, 7, 8], [3, 6, 7, 4, 2, 0, 9, 5, 8, 1], [5, 8, 6, 9, 7, 2, 0, 1, 3, 4], [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
        [9, 4, 3, 8, 6, 1, 7, 2, 0, 5], [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
    ]
    return digits.compactMap(\.wholeNumberValue).reduce(0) { table[$0][$1] }
}
