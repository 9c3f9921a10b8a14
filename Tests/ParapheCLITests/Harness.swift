import Foundation
import ParapheTestSupport
import Testing

/// The result of one run of a program.
struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var stdoutBytes: [UInt8]
    var stderrBytes: [UInt8]
}

/// Locates the built `paraphe-testable` executable next to the test bundle (or `PARAPHE_BIN`): the
/// same commands as `paraphe`, whose clock (PARAPHE_FAKE_NOW) and crash points (PARAPHE_TEST_CRASH_AT)
/// the tests set.
///
/// `name: "paraphe"` finds the shipped binary, which reads neither.
func parapheExecutable(name: String = "paraphe-testable") throws -> URL {
    if let explicit = ProcessInfo.processInfo.environment["PARAPHE_BIN"] { return URL(fileURLWithPath: explicit) }
    var directory = Bundle.main.bundleURL
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    throw HarnessError.missing("paraphe executable (build it with swift build)")
}

enum HarnessError: Error { case missing(String) }

/// The environment a program under test runs with: this one, in a UTF-8 locale, without a
/// `PARAPHE_HOME` of the developer's, plus `extra`.
func childEnvironment(_ extra: [String: String]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["LANG"] = "C.UTF-8"
    environment.removeValue(forKey: "PARAPHE_HOME")
    // Never the home of whoever runs the tests: `profile install`, `activate --install` and the wizard's log-in
    // register the security provider in the home's NSS databases and p11-kit configuration.
    environment["HOME"] = testHome
    environment["XDG_CONFIG_HOME"] = ""
    for (key, value) in extra { environment[key] = value }
    return environment
}

/// The home directory of the programs under test (unless a test gives its own): one per test process, removed by
/// nothing (it is under the temporary directory).
let testHome: String = {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("paraphe-test-home-\(getpid())").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

/// Runs a program to completion with `arguments`, extra environment and optional stdin bytes.
func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], stdin: [UInt8]? = nil) throws -> RunResult {
    let result = try runProgram(executable, arguments, environment: childEnvironment(environment), stdin: stdin)
    return RunResult(
        status: result.status, stdout: result.stdout, stderr: result.stderr, stdoutBytes: result.stdoutBytes, stderrBytes: result.stderrBytes)
}

/// Runs `paraphe` with arguments.
func paraphe(_ arguments: [String], environment: [String: String] = [:], stdin: [UInt8]? = nil) throws -> RunResult {
    try run(try parapheExecutable(), arguments, environment: environment, stdin: stdin)
}

/// Runs `openssl` with arguments.
func openssl(_ arguments: [String]) throws -> RunResult {
    try run(URL(fileURLWithPath: "/usr/bin/openssl"), arguments)
}

/// A scratch directory removed at the end of the test.
final class Scratch {
    let url: URL
    let deployment: Deployment
    /// The networked authority, when there is one.
    let server: AuthorityServer?

    /// A scratch directory; `.networked` also starts an authority service on its own data directory.
    ///
    /// The service's data is in `authority/`; `serverEnvironment` is added to its environment (a fake clock).
    init(_ deployment: Deployment = .embedded, serverEnvironment: [String: String] = [:]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("paraphe-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        self.deployment = deployment
        server =
            deployment == .networked
            ? try AuthorityServer(dataDir: url.appendingPathComponent("authority").path, environment: serverEnvironment) : nil
    }

    deinit {
        server?.stop()
        try? FileManager.default.removeItem(at: url)
    }

    /// The workstation's data directory.
    var dataDir: String { url.appendingPathComponent("data").path }

    /// The authority's data directory (the same as the workstation's in the embedded shape).
    var authorityDir: String { server?.dataDir ?? dataDir }

    /// What a workstation command needs to reach the authority: the data directory, and the service
    /// with its pinned fingerprint in the networked shape.
    var workstation: [String] {
        ["--data-dir", dataDir] + (server.map { ["--authority", $0.url, "--authority-fingerprint", $0.fingerprint] } ?? [])
    }

    /// Runs an operator command (`approve`, `show`, `list`, `audit`) on the authority's host.
    func authority(_ arguments: [String]) throws -> RunResult {
        let full = arguments + ["--data-dir", authorityDir]
        if server != nil { return try run(try parapheExecutable(name: "paraphe-authority-testable"), full) }
        return try paraphe(["authority"] + full)
    }

    /// Writes a file in the scratch directory and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        try file(name, Array(text.utf8))
    }

    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = url.appendingPathComponent(name).path
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        return path
    }

    /// The delivered mails once there are at least `count` (the service sends a recovery email after its answer);
    /// then, with `settle`, a little longer, so a mail that should not come has had its chance.
    func mails(atLeast count: Int, settle: Bool = false) throws -> [String] {
        var mails = try self.mails()
        for _ in 0..<100 where mails.count < count {
            Thread.sleep(forTimeInterval: 0.1)
            mails = try self.mails()
        }
        if settle && server != nil {
            Thread.sleep(forTimeInterval: 1)
            mails = try self.mails()
        }
        return mails
    }

    /// The delivered mails, oldest first.
    func mails() throws -> [String] {
        let directory = URL(fileURLWithPath: authorityDir).appendingPathComponent("mail/new")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let urls = names.map { directory.appendingPathComponent($0) }
        let dated = try urls.map { ($0, try FileManager.default.attributesOfItem(atPath: $0.path)[.modificationDate] as? Date ?? .distantPast) }
        return try dated.sorted { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0.lastPathComponent < $1.0.lastPathComponent) }
            .map { try String(contentsOf: $0.0, encoding: .utf8) }
    }
}

/// A demo application: three questions and answers.
struct Applicant {
    var name = "Jeanne Tremblay"
    var email = "jeanne.tremblay@example.com"
    var lang = "en"
    var questions = ["In what city were you born?", "What was the name of your first pet?", "What is your favourite book?"]
    var answers = ["Montréal", "Rex", "Les Misérables"]
    var password = "Vert-Orage-Piano-47"

    /// Approves the application and returns the link printed on stdout.
    func approve(in scratch: Scratch, approvedAt: String? = nil) throws -> String {
        let answersFile = try scratch.file("approve-answers-\(UUID().uuidString)", answers.joined(separator: "\n") + "\n")
        var arguments = ["approve", "--name", name, "--email", email, "--lang", lang, "--answers-file", answersFile]
        for question in questions { arguments += ["--question", question] }
        if let approvedAt { arguments += ["--approved-at", approvedAt] }
        let result = try scratch.authority(arguments)
        #expect(result.status == 0, "approve failed: \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The value after `label` on its line in a mail (the reference number, for one).
func line(after label: String, in mail: String) -> String? {
    for line in mail.split(separator: "\n") where line.hasPrefix(label) {
        return String(line.dropFirst(label.count)).trimmingCharacters(in: .whitespaces)
    }
    return nil
}

/// A Data shared between two threads.
final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}

/// The reference number of the first (approval) mail.
func firstReference(_ scratch: Scratch) throws -> String {
    let mail = try #require(try scratch.mails().first)
    return try #require(line(after: "Reference number:", in: mail))
}
