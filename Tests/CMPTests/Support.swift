import CMP
import Foundation
import ParapheTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A scratch folder that removes itself.
final class Scratch: @unchecked Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cmp-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url.appendingPathComponent(name))) }
    func write(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: url.appendingPathComponent(name)) }
    func write(_ name: String, _ text: String) throws { try Data(text.utf8).write(to: url.appendingPathComponent(name)) }

    /// Runs `openssl` with `arguments` in this folder; returns its exit status and its output (stdout, then stderr).
    @discardableResult
    func openssl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try runOpenSSL(arguments, in: url)
        return (result.status, result.output)
    }

    /// Runs `openssl` and fails (throws) when it exits non-zero.
    func mustOpenssl(_ arguments: [String]) throws {
        let (status, output) = try openssl(arguments)
        guard status == 0 else { throw TestFailure("openssl \(arguments.joined(separator: " ")) failed: \(output)") }
    }

    /// The DER of the first PEM certificate in a file.
    func certificateDER(_ name: String) throws -> [UInt8] {
        try mustOpenssl(["x509", "-in", name, "-outform", "DER", "-out", name + ".der"])
        return try read(name + ".der")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A CA (P-256, ecdsa-with-SHA256), a leaf key, its CSR and the certificate the CA issued for it.
struct PKIFixture {
    let scratch: Scratch
    /// Files: ca.key ca.pem leaf.key leaf.csr leaf.pem.
    init(curve: String = "P-256", digest: String = "sha256") throws {
        scratch = try Scratch()
        try scratch.mustOpenssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:\(curve)", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-subj", "/CN=Test CA", "-days", "30", "-\(digest)",
        ])
        try scratch.mustOpenssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "leaf.key"])
        try issue(key: "leaf.key", name: "leaf")
    }

    /// Makes `<name>.csr` for `key` and `<name>.pem` signed by the CA.
    func issue(key: String, name: String, digest: String = "sha256") throws {
        try scratch.mustOpenssl(["req", "-new", "-key", key, "-subj", "/CN=\(name)", "-out", "\(name).csr", "-outform", "PEM"])
        try scratch.mustOpenssl([
            "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "4660", "-days", "10",
            "-\(digest)", "-out", "\(name).pem",
        ])
    }

    func csrDER(_ name: String) throws -> [UInt8] {
        try scratch.mustOpenssl(["req", "-in", "\(name).csr", "-outform", "DER", "-out", "\(name).csr.der"])
        return try scratch.read("\(name).csr.der")
    }
}

/// `openssl cmp -port 0 …` run as the HTTP mock server on a loopback port it chooses and prints ("ACCEPT [::]:PORT").
final class MockServer: @unchecked Sendable {
    let process = Process()
    let port: Int
    let logPath: String

    init(in scratch: Scratch, _ arguments: [String]) throws {
        logPath = scratch.path("mock-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "cmp", "-port", "0"] + arguments
        process.currentDirectoryURL = scratch.url
        process.standardOutput = log
        process.standardError = log
        try process.run()
        var found: Int?
        for _ in 0..<200 where found == nil {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT ") }),
                let portText = line.split(separator: " ")[1].split(separator: ":").last, let port = Int(portText)
            {
                found = port
            } else if !process.isRunning {
                break
            } else {
                usleep(50_000)
            }
        }
        guard let found else {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            throw TestFailure("the mock server did not start: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
        }
        port = found
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Kills the server.
    ///
    /// SIGKILL, because a child spawned from a Swift concurrency thread inherits its blocked signal mask,
    /// SIGTERM included.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }

    var url: URL { URL(string: "http://127.0.0.1:\(port)/pkix/") ?? URL(fileURLWithPath: "/") }
}

/// Records every exchange a transport carries.
actor Exchanges {
    private(set) var requests: [[UInt8]] = []
    private(set) var responses: [[UInt8]] = []
    func record(_ request: [UInt8], _ response: [UInt8]) {
        requests.append(request)
        responses.append(response)
    }
}

enum HTTP {
    /// POSTs CMP messages to `url` (RFC 6712), recording them in `exchanges`.
    static func transport(_ url: URL, recording exchanges: Exchanges) -> @Sendable ([UInt8]) async throws -> [UInt8] {
        { body in
            var request = URLRequest(url: url)
            request.httpMethod = "POST"
            request.setValue(cmpMediaType, forHTTPHeaderField: "Content-Type")
            request.setValue("close", forHTTPHeaderField: "Connection")
            request.httpBody = Data(body)
            request.timeoutInterval = 30
            let (data, response) = try await URLSession.shared.data(for: request)
            guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
                throw TestFailure("HTTP status \((response as? HTTPURLResponse)?.statusCode ?? -1)")
            }
            #expect(http.value(forHTTPHeaderField: "Content-Type")?.lowercased() == cmpMediaType)
            await exchanges.record(body, [UInt8](data))
            return [UInt8](data)
        }
    }
}

func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

extension Array where Element == UInt8 {
    init(base64 text: String) { self = [UInt8](Data(base64Encoded: text) ?? Data()) }
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}
