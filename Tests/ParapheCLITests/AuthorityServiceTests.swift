import Foundation
import Testing

/// `paraphe-authority serve` from the outside: curl on the JSON API, `openssl cmp` on the CMP endpoint,
/// schemathesis against the OpenAPI document.
@Suite(.serialized) struct AuthorityServiceTests {
    /// curl against the service, trusting only its CA; returns the HTTP status and the body.
    func curl(_ server: AuthorityServer, _ path: String, method: String = "GET", json: String? = nil, contentType: String = "application/json") throws -> (Int, String) {
        var arguments = ["-s", "--cacert", server.dataDir + "/ca/ca-cert.pem", "-X", method, "-w", "\n%{http_code}", server.url + path]
        if let json { arguments += ["-H", "Content-Type: \(contentType)", "--data-binary", json] }
        let result = try run(URL(fileURLWithPath: "/usr/bin/curl"), arguments)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? -1, lines.dropLast().joined(separator: "\n"))
    }

    @Test func theJSONAPISaysWhatHappenedWithStatusesThatMeanIt() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let link = try Applicant().approve(in: scratch)
        let token = String(link.split(separator: "/").last ?? "")
        let base = "/api/v1/applications/"

        // Every form the wizard accepts: dashes or not, any case, the whole link.
        for form in [token, token.replacingOccurrences(of: "-", with: "").lowercased()] {
            let (status, body) = try curl(server, base + form)
            #expect(status == 200, "\(form): \(body)")
            #expect(body.contains("\"status\":\"approved\"") && body.contains("\"identityAttemptsRemaining\":5"))
            #expect(!body.contains("jeanne"), "no personal data before the identity check")
        }
        #expect(try curl(server, base + "ZZZZ-ZZZZ-ZZZZ-ZZZZ").0 == 404)
        #expect(try curl(server, base + "not-a-token").0 == 400)
        #expect(try curl(server, "/admin").0 == 404)

        let wrong = try curl(server, base + token + "/identity", method: "POST", json: #"{"answers":["a","b","c"]}"#)
        #expect(wrong.0 == 403 && wrong.1.contains("\"code\":\"wrongAnswers\"") && wrong.1.contains("\"attemptsRemaining\":4"), "\(wrong)")
        #expect(try curl(server, base + token + "/identity", method: "POST", json: #"{"answers":"#).0 == 400)
        #expect(try curl(server, base + token + "/identity", method: "POST", json: "answers", contentType: "text/plain").0 == 415)
        let huge = #"{"answers":[""# + String(repeating: "x", count: 40_000) + #"","b","c"]}"#
        #expect(try curl(server, base + token + "/identity", method: "POST", json: huge).0 == 413)

        let right = try curl(server, base + token + "/identity", method: "POST", json: #"{"answers":["Montreal","rex","?"]}"#)
        #expect(right.0 == 200 && right.1.contains("\"authorizationCode\":\"") && right.1.contains("\"renewalNeeded\":false"), "\(right)")
        let renewalWithAWrongCode = try curl(server, base + token + "/renewal", method: "POST", json: #"{"authorizationCode":"WRONG"}"#)
        #expect(renewalWithAWrongCode.0 == 403, "\(renewalWithAWrongCode)")

        for _ in 0..<4 { _ = try curl(server, base + token + "/identity", method: "POST", json: #"{"answers":["a","b","c"]}"#) }
        let locked = try curl(server, base + token + "/identity", method: "POST", json: #"{"answers":["Montreal","rex","?"]}"#)
        #expect(locked.0 == 423 && locked.1.contains("identityLocked"), "\(locked)")

        let (caStatus, pem) = try curl(server, "/api/v1/ca")
        #expect(caStatus == 200 && pem.hasPrefix("-----BEGIN CERTIFICATE-----"))
        let (docStatus, document) = try curl(server, "/openapi.yaml")
        #expect(docStatus == 200 && document.hasPrefix("openapi: 3.1.0"))
    }

    @Test func theRateLimitAnswers429WithRetryAfter() throws {
        let scratch = try Scratch()
        let server = try AuthorityServer(dataDir: scratch.authorityDir, arguments: ["--rate-limit", "3"])
        let statuses = try (0..<5).map { _ in try curl(server, "/api/v1/applications/ZZZZ-ZZZZ-ZZZZ-ZZZZ").0 }
        #expect(statuses == [404, 404, 404, 429, 429], "\(statuses)")
        let headers = try run(URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-D", "-", "-o", "/dev/null", "--cacert", server.dataDir + "/ca/ca-cert.pem",
                                                                      server.url + "/api/v1/applications/ZZZZ-ZZZZ-ZZZZ-ZZZZ"]).stdout
        #expect(headers.lowercased().contains("retry-after:"), "\(headers)")
    }

    /// The identity endpoint releases the authorization code, as a person's kiosk would get it; `openssl cmp`
    /// then enrolls with it and the reference number from the mail, and gets the subject the authority decides.
    @Test func opensslCMPEnrollsWithTheReferenceNumberAndTheAuthorizationCode() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let link = try Applicant().approve(in: scratch)
        let token = String(link.split(separator: "/").last ?? "")
        let reference = try firstReference(scratch)
        let (_, body) = try curl(server, "/api/v1/applications/\(token)/identity", method: "POST", json: #"{"answers":["Montréal","Rex","x"]}"#)
        let code = try #require(body.firstMatch(of: /"authorizationCode":"([0-9A-Z]+)"/)).1
        let key = scratch.url.appendingPathComponent("key.pem").path
        #expect(try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]).status == 0)
        func enroll(_ reference: String, _ secret: String, _ out: String) throws -> RunResult {
            try openssl(["cmp", "-cmd", "ir", "-server", "127.0.0.1:\(server.port)", "-path", "pkix/", "-tls_used",
                         "-tls_trusted", server.dataDir + "/ca/ca-cert.pem", "-ref", reference, "-secret", "pass:\(secret)",
                         "-newkey", key, "-subject", "/CN=x", "-certout", out, "-cacertsout", out + ".ca"])
        }
        let cert = scratch.url.appendingPathComponent("cert.pem").path
        // A wrong code: refused (badMessageCheck), counted as a wrong attempt, no certificate.
        // (The answer is not MACed with the real code, which would be an oracle: OpenSSL reads it with -unprotected_errors.)
        let wrongCode = try openssl(["cmp", "-cmd", "ir", "-server", "127.0.0.1:\(server.port)", "-path", "pkix/", "-tls_used",
                                     "-tls_trusted", server.dataDir + "/ca/ca-cert.pem", "-ref", reference, "-secret", "pass:WRONGCODE",
                                     "-newkey", key, "-subject", "/CN=x", "-certout", cert, "-unprotected_errors"])
        #expect(wrongCode.status != 0)
        let said = wrongCode.stdout + wrongCode.stderr
        #expect(said.contains("badMessageCheck") && said.contains("rejection"), "\(said)")
        #expect(!FileManager.default.fileExists(atPath: cert))
        #expect(try scratch.authority(["show", link, "--json"]).stdout.contains("\"wrongReferencesInARow\" : 1"))

        let enrolled = try enroll(reference.replacingOccurrences(of: "-", with: ""), String(code), cert)
        #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
        #expect((enrolled.stdout + enrolled.stderr).contains("received PKICONF"), "certConf → pkiConf")
        let text = try openssl(["x509", "-in", cert, "-noout", "-subject", "-ext", "subjectAltName"]).stdout
        #expect(text.contains("CN = Jeanne Tremblay") && text.contains("email:jeanne.tremblay@example.com"), "the authority decides the subject: \(text)")
        let verify = try openssl(["verify", "-CAfile", server.dataDir + "/ca/ca-cert.pem", cert])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(try scratch.authority(["show", link, "--json"]).stdout.contains("\"status\" : \"activated\""))

        // Single use: another key with the same codes gets nothing.
        let otherKey = scratch.url.appendingPathComponent("other.pem").path
        #expect(try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", otherKey]).status == 0)
        let again = try openssl(["cmp", "-cmd", "ir", "-server", "127.0.0.1:\(server.port)", "-path", "pkix/", "-tls_used",
                                 "-tls_trusted", server.dataDir + "/ca/ca-cert.pem", "-ref", reference, "-secret", "pass:\(code)",
                                 "-newkey", otherKey, "-subject", "/CN=x", "-certout", cert + ".2"])
        #expect(again.status != 0 && !FileManager.default.fileExists(atPath: cert + ".2"))
        let audit = try scratch.authority(["audit", "--json"]).stdout
        #expect(audit.matches(of: /"event" : "certificateIssued"/).count == 1)
        #expect(audit.contains("confirmed by the requester"))
        #expect(!audit.contains(String(code)), "the code never reaches the audit log")
    }
}

extension AuthorityServiceTests {
    /// `-implicit_confirm`: the authority grants it, so the exchange ends with the `ip` (no certConf).
    @Test func implicitConfirmationIsGrantedWhenAsked() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let link = try Applicant().approve(in: scratch)
        let token = String(link.split(separator: "/").last ?? "")
        let reference = try firstReference(scratch)
        let (_, body) = try curl(server, "/api/v1/applications/\(token)/identity", method: "POST", json: #"{"answers":["Montréal","Rex","x"]}"#)
        let code = try #require(body.firstMatch(of: /"authorizationCode":"([0-9A-Z]+)"/)).1
        let key = scratch.url.appendingPathComponent("key.pem").path
        #expect(try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]).status == 0)
        let cert = scratch.url.appendingPathComponent("cert.pem").path
        let result = try openssl(["cmp", "-cmd", "ir", "-server", "127.0.0.1:\(server.port)", "-path", "pkix/", "-tls_used",
                                  "-tls_trusted", server.dataDir + "/ca/ca-cert.pem", "-ref", reference, "-secret", "pass:\(code)",
                                  "-newkey", key, "-subject", "/CN=x", "-certout", cert, "-implicit_confirm"])
        let said = result.stdout + result.stderr
        #expect(result.status == 0, "\(said)")
        #expect(said.contains("received IP") && !said.contains("CERTCONF"), "\(said)")
        #expect(FileManager.default.fileExists(atPath: cert))
    }

    /// schemathesis (installed by scripts/install-deps) generates requests from the OpenAPI document the
    /// service serves and checks every answer against it: no 5xx, no response that breaks the document,
    /// no schema-valid request refused, 405 for methods a path does not take.
    @Test func schemathesisFindsNothingAgainstTheDocument() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        _ = try Applicant().approve(in: scratch)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let tool = ProcessInfo.processInfo.environment["SCHEMATHESIS"] ?? root.appendingPathComponent(".build-tools/schemathesis/bin/schemathesis").path
        #expect(FileManager.default.isExecutableFile(atPath: tool), "run scripts/install-deps to install schemathesis")
        let document = scratch.url.appendingPathComponent("openapi.yaml").path
        let (status, text) = try curl(server, "/openapi.yaml")
        #expect(status == 200)
        _ = try scratch.file("openapi.yaml", text + "\n")
        let result = try run(URL(fileURLWithPath: tool), [
            "run", document, "--url", server.url, "--tls-verify", server.dataDir + "/ca/ca-cert.pem", "--checks", "all",
            "--max-examples", "40", "--seed", "20261129", "--no-color",
        ], environment: ["SCHEMATHESIS_HOOKS": "", "HOME": scratch.url.path])
        #expect(result.status == 0, "\(result.stdout.suffix(4_000))\(result.stderr.suffix(2_000))")
        #expect(result.stdout.contains("passed") && !result.stdout.contains("failures"), "\(result.stdout.suffix(2_000))")
    }
}
