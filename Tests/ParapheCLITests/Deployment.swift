import Foundation
import Testing

/// The two deployment shapes every end-to-end scenario runs in: the embedded authority in the
/// workstation's data directory, or `paraphe-authority serve` on loopback with the workstation as its
/// HTTPS client (its own data directory holding only the trust store, profiles and parked keys).
enum Deployment: String, CaseIterable, Sendable, CustomStringConvertible {
    case embedded, networked
    var description: String { rawValue }
}

/// `paraphe-authority-testable serve` on 127.0.0.1 (a free port, kept across restarts), with the
/// CA's fingerprint read by OpenSSL, as an administrator would pin it.
final class AuthorityServer: @unchecked Sendable {
    let dataDir: String
    let environment: [String: String]
    let arguments: [String]
    private(set) var port = 0
    private var process: Process?
    private var stopped: Process?
    private(set) var fingerprint = ""

    /// Where the service's standard error (its log) goes, when kept.
    let logFile: String?

    init(dataDir: String, environment: [String: String] = [:], arguments: [String] = ["--rate-limit", "0"], logFile: String? = nil) throws {
        self.dataDir = dataDir
        self.environment = environment
        self.arguments = arguments
        self.logFile = logFile
        try start()
        let ca = URL(fileURLWithPath: dataDir).appendingPathComponent("ca/ca-cert.pem").path
        let printed = try openssl(["x509", "-in", ca, "-noout", "-fingerprint", "-sha256"]).stdout
        fingerprint = try #require(printed.split(separator: "=").last).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { stop() }

    var url: String { "https://127.0.0.1:\(port)" }

    /// Starts the service (again, on the same port after the first start) and waits for its first line.
    func start() throws {
        let process = Process()
        process.executableURL = try parapheExecutable(name: "paraphe-authority-testable")
        process.arguments = ["serve", "--data-dir", dataDir, "--listen", "127.0.0.1:\(port)"] + arguments
        process.environment = childEnvironment(environment)
        let out = Pipe()
        process.standardOutput = out
        if let logFile {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        self.process = process
        let line = DataBox()
        let done = DispatchSemaphore(value: 0)
        let handle = out.fileHandleForReading
        DispatchQueue.global().async {
            var bytes = Data()
            while let chunk = try? handle.read(upToCount: 1), !chunk.isEmpty, chunk != Data("\n".utf8) { bytes.append(chunk) }
            line.set(bytes)
            done.signal()
        }
        guard done.wait(timeout: .now() + 30) == .success else {
            process.terminate()
            throw HarnessError.missing("paraphe-authority did not start listening")
        }
        let text = String(decoding: line.get(), as: UTF8.self)
        guard text.hasPrefix("Listening on https://127.0.0.1:"), let bound = text.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw HarnessError.missing("paraphe-authority's first line was \(text)")
        }
        port = bound
    }

    /// SIGTERM, then waits for the exit (the service drains and stops).
    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
        stopped = process
        self.process = nil
    }

    /// Approves `applicant`'s application on this service's host (the operator's command); its link and the reference
    /// number of its approval email.
    func approve(_ applicant: Applicant, in scratch: Scratch) throws -> (link: String, reference: String) {
        let approved = try run(
            try parapheExecutable(name: "paraphe-authority-testable"),
            [
                "approve", "--data-dir", dataDir, "--name", applicant.name, "--email", applicant.email,
                "--question", "q1?", "--question", "q2?", "--question", "q3?",
                "--answers-file", try scratch.file("approve-answers", applicant.answers.joined(separator: "\n")),
            ])
        let mails = dataDir + "/mail/new"
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: mails).first)
        let reference = try #require(line(after: "Reference number:", in: try String(contentsOfFile: mails + "/" + file, encoding: .utf8)))
        return (approved.stdout.trimmingCharacters(in: .whitespacesAndNewlines), reference)
    }

    /// The exit status of the run that was stopped last.
    var lastExit: Int32? { stopped?.terminationStatus }
}
