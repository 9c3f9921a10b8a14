import Foundation
import Testing

/// The service over a long life and behind a load balancer (issue 22, holes 6 and 9): its TLS certificate is
/// renewed in process and operator files are reloaded, without dropping connections; the limits count the client
/// a trusted balancer names, an IPv6 client by its /64, and `/crl` and `/metrics` too; `/health` never.
@Suite(.serialized) struct ServiceLifeTests {
    /// The serial number and end date of the certificate the service presents to a new connection.
    func presented(_ server: AuthorityServer) throws -> String {
        let result = try run(
            URL(fileURLWithPath: "/bin/sh"),
            [
                "-c",
                "openssl s_client -connect 127.0.0.1:\(server.port) -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial -enddate",
            ])
        return result.stdout
    }

    /// Polls `body` until it returns something else than `old` (at most `seconds`).
    func waitForChange(from old: String, seconds: Double = 15, _ body: () throws -> String) throws -> String {
        var value = try body()
        var waited = 0.0
        while value == old, waited < seconds {
            Thread.sleep(forTimeInterval: 0.25)
            waited += 0.25
            value = try body()
        }
        return value
    }

    /// `openssl s_client` kept open: requests written to it go over one TLS connection.
    final class Session {
        let process = Process()
        let input = Pipe()
        let output = DataBox()

        init(_ server: AuthorityServer) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = ["s_client", "-connect", "127.0.0.1:\(server.port)", "-servername", "localhost", "-quiet", "-ign_eof"]
            process.standardInput = input
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            let box = output
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let chunk = handle.availableData
                if !chunk.isEmpty { box.set(box.get() + chunk) }
            }
            try process.run()
        }

        /// Sends `GET path` and waits until `count` responses have come on this connection.
        func get(_ path: String, responses count: Int) throws -> Int {
            try input.fileHandleForWriting.write(contentsOf: Data("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
            for _ in 0..<100 {
                let seen = String(decoding: output.get(), as: UTF8.self).components(separatedBy: "HTTP/1.1 200").count - 1
                if seen >= count { return seen }
                Thread.sleep(forTimeInterval: 0.1)
            }
            return String(decoding: output.get(), as: UTF8.self).components(separatedBy: "HTTP/1.1 200").count - 1
        }

        deinit {
            try? input.fileHandleForWriting.close()
            process.terminate()
        }
    }

    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    @Test func theServiceRenewsItsOwnTLSCertificateInProcessAndKeepsOpenConnections() throws {
        let scratch = try Scratch()
        let clock = scratch.url.appendingPathComponent("now")
        let start = Date()
        try Self.iso(start).write(to: clock, atomically: true, encoding: .utf8)
        let server = try AuthorityServer(
            dataDir: scratch.url.appendingPathComponent("authority").path, environment: ["PARAPHE_FAKE_NOW_FILE": clock.path])
        let first = try presented(server)
        #expect(first.contains("serial="), "\(first)")
        let session = try Session(server)
        #expect(try session.get("/health", responses: 1) == 1)
        // 59 days on: 31 days left of 90, nothing to do yet.
        try Self.iso(start + 59 * 86_400).write(to: clock, atomically: true, encoding: .utf8)
        Thread.sleep(forTimeInterval: 6)
        #expect(try presented(server) == first)
        // 61 days on: less than 30 left; the next round renews it.
        try Self.iso(start + 61 * 86_400).write(to: clock, atomically: true, encoding: .utf8)
        let second = try waitForChange(from: first) { try presented(server) }
        #expect(second != first && second.contains("serial="), "a new certificate: \(second)")
        // The connection opened before the renewal still answers.
        #expect(try session.get("/health", responses: 2) == 2, "\(String(decoding: session.output.get(), as: UTF8.self))")
        let audit = try run(try parapheExecutable(name: "paraphe-authority-testable"), ["audit", "--data-dir", server.dataDir, "--json"]).stdout
        #expect(audit.matches(of: /"event" : "tlsCertificateIssued"/).count == 2)
    }

    @Test func operatorTLSFilesAreReloadedWhenTheyChangeAndABrokenOneIsNotTaken() throws {
        let scratch = try Scratch()
        func make(_ name: String) throws -> (cert: String, key: String) {
            let (cert, key) = (scratch.url.appendingPathComponent(name + ".crt").path, scratch.url.appendingPathComponent(name + ".key").path)
            let made = try openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                "-subj", "/CN=\(name)", "-days", "30", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ])
            #expect(made.status == 0, "\(made.stderr)")
            return (cert, key)
        }
        let installed = (cert: scratch.url.appendingPathComponent("tls.crt").path, key: scratch.url.appendingPathComponent("tls.key").path)
        func install(_ files: (cert: String, key: String)) throws {
            for (from, to) in [(files.cert, installed.cert), (files.key, installed.key)] {
                let temporary = to + ".new"
                try? FileManager.default.removeItem(atPath: temporary)
                try FileManager.default.copyItem(atPath: from, toPath: temporary)
                _ = rename(temporary, to)
            }
        }
        try install(try make("first"))
        let server = try AuthorityServer(
            dataDir: scratch.url.appendingPathComponent("authority").path,
            arguments: ["--rate-limit", "0", "--tls-cert", installed.cert, "--tls-key", installed.key])
        let first = try presented(server)
        try install(try make("second"))
        let second = try waitForChange(from: first) { try presented(server) }
        #expect(second != first, "the new files are presented")
        // A half-written or broken pair is not taken: the certificate in use stays.
        try "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n".write(
            toFile: installed.cert, atomically: true, encoding: .utf8)
        Thread.sleep(forTimeInterval: 6)
        #expect(try presented(server) == second)
    }
}

/// Behind a load balancer (PROXY protocol v2), and the limits of `/crl`, `/metrics` and `/health`.
@Suite(.serialized) struct LoadBalancerTests {
    /// A client that connects over TLS, optionally after a PROXY protocol v2 header naming `source` ("local": a LOCAL
    /// header; "none": no header), and prints the HTTP status of `GET path`, or "closed".
    static let client = #"""
        import socket, ssl, struct, sys, ipaddress
        port, source, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        signature = b"\r\n\r\n\x00\r\nQUIT\n"
        if source == "local":
            s.sendall(signature + bytes([0x20, 0x00, 0, 0]))
        elif source != "none":
            ip = ipaddress.ip_address(source)
            own = ipaddress.ip_address("127.0.0.1" if ip.version == 4 else "::1")
            body = ip.packed + own.packed + struct.pack("!HH", 40000, port)
            s.sendall(signature + bytes([0x21, 0x11 if ip.version == 4 else 0x21]) + struct.pack("!H", len(body)) + body)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            t = context.wrap_socket(s, server_hostname="localhost")
            t.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path).encode())
            data = b""
            while True:
                chunk = t.recv(4096)
                if not chunk:
                    break
                data += chunk
            print(data.split(b" ")[1].decode() if data.startswith(b"HTTP/") else "closed")
        except Exception:
            print("closed")
        """#

    func status(_ server: AuthorityServer, from source: String, _ path: String = "/api/v1/applications/ZZZZ-ZZZZ-ZZZZ-ZZZZ") throws -> String {
        try run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", Self.client, String(server.port), source, path]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func theLimitsCountTheClientATrustedBalancerNamesAndAnIPv6ClientByItsSlash64() throws {
        let scratch = try Scratch()
        let server = try AuthorityServer(
            dataDir: scratch.url.appendingPathComponent("authority").path,
            arguments: ["--rate-limit", "3", "--trusted-proxy", "127.0.0.1/32"])
        #expect(try (0..<4).map { _ in try status(server, from: "198.51.100.1") } == ["404", "404", "404", "429"])
        #expect(try status(server, from: "198.51.100.2") == "404", "another client behind the same balancer has its own count")
        #expect(try (0..<3).map { _ in try status(server, from: "2001:db8:1:2::1") } == ["404", "404", "404"])
        #expect(try status(server, from: "2001:db8:1:2:ffff:ffff:ffff:9") == "429", "the same /64")
        #expect(try status(server, from: "2001:db8:1:3::1") == "404", "another /64")
        #expect(try status(server, from: "none") == "closed", "a trusted balancer's connection must start with the header")
        #expect(try status(server, from: "local", "/health") == "200", "its own health checks (LOCAL) are served")
    }

    @Test func aHeaderFromAnUntrustedPeerIsNotBelievedAndCRLAndMetricsAreLimitedButNotHealth() throws {
        let scratch = try Scratch()
        let server = try AuthorityServer(dataDir: scratch.url.appendingPathComponent("authority").path, arguments: ["--rate-limit", "3"])
        #expect(try status(server, from: "198.51.100.1") == "closed", "without --trusted-proxy, the header is not TLS: refused")
        #expect(try status(server, from: "none", "/health") == "200")
        let crl = try (0..<4).map { _ in try status(server, from: "none", "/crl") }
        #expect(crl.prefix(3).allSatisfy { $0 == "200" || $0 == "404" } && crl.last == "429", "\(crl)")
        #expect(try status(server, from: "none", "/metrics") == "429", "the same client's count")
        #expect(
            try (0..<10).map { _ in try status(server, from: "none", "/health") }.allSatisfy { $0 == "200" },
            "a load balancer's probe is never limited")
    }
}
