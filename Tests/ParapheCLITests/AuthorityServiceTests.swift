import Foundation
import Testing

/// `paraphe-authority serve` from the outside: curl on the JSON API, `openssl cmp` on the CMP endpoint,
/// schemathesis against the OpenAPI document.
@Suite(.serialized) struct AuthorityServiceTests {
    /// curl against the service, trusting only its CA; returns the HTTP status and the body.
    func curl(_ server: AuthorityServer, _ path: String, method: String = "GET", json: String? = nil, contentType: String = "application/json") throws
        -> (Int, String)
    {
        var arguments = ["-s", "--cacert", server.dataDir + "/ca/ca-cert.pem", "-X", method, "-w", "\n%{http_code}", server.url + path]
        if let json { arguments += ["-H", "Content-Type: \(contentType)", "--data-binary", json] }
        let result = try run(URL(fileURLWithPath: "/usr/bin/curl"), arguments)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? -1, lines.dropLast().joined(separator: "\n"))
    }

    /// An approved application whose identity check passed through the API, as a kiosk does it: its link,
    /// the reference number from the mail, and the authorization code the check released.
    func approvedAndVerified(_ scratch: Scratch, _ server: AuthorityServer) throws -> (link: String, reference: String, code: String) {
        let link = try Applicant().approve(in: scratch)
        let token = String(link.split(separator: "/").last ?? "")
        let (_, body) = try curl(server, "/api/v1/applications/\(token)/identity", method: "POST", json: #"{"answers":["Montréal","Rex","x"]}"#)
        let code = try #require(body.firstMatch(of: /"authorizationCode":"([0-9A-Z]+)"/)).1
        return (link, try firstReference(scratch), String(code))
    }

    /// A fresh P-256 key made by OpenSSL in the scratch directory; its path.
    func newKey(_ scratch: Scratch, _ name: String) throws -> String {
        let key = scratch.url.appendingPathComponent(name).path
        #expect(try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]).status == 0)
        return key
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

        // A success resets the failures (never anything else): five wrong ones in a row lock it.
        for _ in 0..<5 { _ = try curl(server, base + token + "/identity", method: "POST", json: #"{"answers":["a","b","c"]}"#) }
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
        let headers = try run(
            URL(fileURLWithPath: "/usr/bin/curl"),
            [
                "-s", "-D", "-", "-o", "/dev/null", "--cacert", server.dataDir + "/ca/ca-cert.pem",
                server.url + "/api/v1/applications/ZZZZ-ZZZZ-ZZZZ-ZZZZ",
            ]
        ).stdout
        #expect(headers.lowercased().contains("retry-after:"), "\(headers)")
    }

    /// The identity endpoint releases the authorization code, as a person's kiosk would get it; `openssl cmp`
    /// then enrolls with it and the reference number from the mail, and gets the subject the authority decides.
    @Test func opensslCMPEnrollsWithTheReferenceNumberAndTheAuthorizationCode() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let (link, reference, code) = try approvedAndVerified(scratch, server)
        let key = try newKey(scratch, "key.pem")
        func enroll(_ reference: String, _ secret: String, _ out: String) throws -> RunResult {
            try openssl([
                "cmp", "-cmd", "ir", "-server", "127.0.0.1:\(server.port)", "-path", "pkix/", "-tls_used",
                "-tls_trusted", server.dataDir + "/ca/ca-cert.pem", "-ref", reference, "-secret", "pass:\(secret)",
                "-newkey", key, "-subject", "/CN=x", "-certout", out, "-cacertsout", out + ".ca",
            ])
        }
        let cert = scratch.url.appendingPathComponent("cert.pem").path
        // A wrong code: refused (badMessageCheck), no certificate, and not counted against the application (it proved nothing).
        // (The answer is not MACed with the real code, which would be an oracle: OpenSSL reads it with -unprotected_errors.)
        let wrongCode = try openssl([
            "cmp", "-cmd", "ir", "-server", "127.0.0.1:\(server.port)", "-path", "pkix/", "-tls_used",
            "-tls_trusted", server.dataDir + "/ca/ca-cert.pem", "-ref", reference, "-secret", "pass:WRONGCODE",
            "-newkey", key, "-subject", "/CN=x", "-certout", cert, "-unprotected_errors",
        ])
        #expect(wrongCode.status != 0)
        let said = wrongCode.stdout + wrongCode.stderr
        #expect(said.contains("badMessageCheck") && said.contains("rejection"), "\(said)")
        #expect(!FileManager.default.fileExists(atPath: cert))
        #expect(try scratch.authority(["show", link, "--json"]).stdout.contains("\"wrongReferencesInARow\" : 0"))

        let enrolled = try enroll(reference.replacingOccurrences(of: "-", with: ""), String(code), cert)
        #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
        #expect((enrolled.stdout + enrolled.stderr).contains("received PKICONF"), "certConf → pkiConf")
        let text = try openssl(["x509", "-in", cert, "-noout", "-subject", "-ext", "subjectAltName"]).stdout
        #expect(
            text.contains("CN = Jeanne Tremblay") && text.contains("email:jeanne.tremblay@example.com"), "the authority decides the subject: \(text)")
        let verify = try openssl(["verify", "-CAfile", server.dataDir + "/ca/ca-cert.pem", cert])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(try scratch.authority(["show", link, "--json"]).stdout.contains("\"status\" : \"activated\""))

        // Single use: another key with the same codes gets nothing.
        let otherKey = scratch.url.appendingPathComponent("other.pem").path
        #expect(try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", otherKey]).status == 0)
        let again = try openssl([
            "cmp", "-cmd", "ir", "-server", "127.0.0.1:\(server.port)", "-path", "pkix/", "-tls_used",
            "-tls_trusted", server.dataDir + "/ca/ca-cert.pem", "-ref", reference, "-secret", "pass:\(code)",
            "-newkey", otherKey, "-subject", "/CN=x", "-certout", cert + ".2",
        ])
        #expect(again.status != 0 && !FileManager.default.fileExists(atPath: cert + ".2"))
        let audit = try scratch.authority(["audit", "--json"]).stdout
        #expect(audit.matches(of: /"event" : "certificateIssued"/).count == 1)
        #expect(audit.contains("confirmed by the requester"))
        #expect(!audit.contains(String(code)), "the code never reaches the audit log")

        // /metrics counts each exchange by the request's type and the answer's (a body that is no PKIMessage too).
        let garbage = try run(
            URL(fileURLWithPath: "/usr/bin/curl"),
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", server.dataDir + "/ca/ca-cert.pem",
                "-H", "Content-Type: application/pkixcmp", "--data-binary", "not DER", server.url + "/pkix/",
            ])
        #expect(garbage.stdout == "200", "RFC 6712: a CMP error answer travels with 200")
        let metrics = try run(
            URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "--cacert", server.dataDir + "/ca/ca-cert.pem", server.url + "/metrics"]
        ).stdout
        for line in [
            #"paraphe_cmp_messages_total{request="ir",answer="error"} 2"#,
            #"paraphe_cmp_messages_total{request="ir",answer="ip"} 1"#,
            #"paraphe_cmp_messages_total{request="certConf",answer="pkiConf"} 1"#,
            #"paraphe_cmp_messages_total{request="undecodable",answer="error"} 1"#,
            #"paraphe_enrollments_total{outcome="issued"} 1"#, #"paraphe_enrollments_total{outcome="refused"} 2"#,
        ] {
            #expect(metrics.contains(line), "\(line) in \(metrics)")
        }
    }
}

extension AuthorityServiceTests {
    /// `-implicit_confirm`: the authority grants it, so the exchange ends with the `ip` (no certConf).
    @Test func implicitConfirmationIsGrantedWhenAsked() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let (_, reference, code) = try approvedAndVerified(scratch, server)
        let key = try newKey(scratch, "key.pem")
        let cert = scratch.url.appendingPathComponent("cert.pem").path
        let result = try openssl([
            "cmp", "-cmd", "ir", "-server", "127.0.0.1:\(server.port)", "-path", "pkix/", "-tls_used",
            "-tls_trusted", server.dataDir + "/ca/ca-cert.pem", "-ref", reference, "-secret", "pass:\(code)",
            "-newkey", key, "-subject", "/CN=x", "-certout", cert, "-implicit_confirm",
        ])
        let said = result.stdout + result.stderr
        #expect(result.status == 0, "\(said)")
        #expect(said.contains("received IP") && !said.contains("CERTCONF"), "\(said)")
        #expect(FileManager.default.fileExists(atPath: cert))
    }

    /// schemathesis (installed by scripts/test) generates requests from the OpenAPI document the
    /// service serves and checks every answer against it: no 5xx, no response that breaks the document,
    /// no schema-valid request refused, 405 for methods a path does not take.
    @Test func schemathesisFindsNothingAgainstTheDocument() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        _ = try Applicant().approve(in: scratch)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let tool =
            ProcessInfo.processInfo.environment["SCHEMATHESIS"] ?? root.appendingPathComponent(".build-tools/schemathesis/bin/schemathesis").path
        #expect(FileManager.default.isExecutableFile(atPath: tool), "run scripts/test (it installs schemathesis into .build-tools/)")
        let document = scratch.url.appendingPathComponent("openapi.yaml").path
        let (status, text) = try curl(server, "/openapi.yaml")
        #expect(status == 200)
        _ = try scratch.file("openapi.yaml", text + "\n")
        let result = try run(
            URL(fileURLWithPath: tool),
            [
                "run", document, "--url", server.url, "--tls-verify", server.dataDir + "/ca/ca-cert.pem", "--checks", "all",
                "--max-examples", "40", "--seed", "20261129", "--no-color",
            ], environment: ["SCHEMATHESIS_HOOKS": "", "HOME": scratch.url.path])
        #expect(result.status == 0, "\(result.stdout.suffix(4_000))\(result.stderr.suffix(2_000))")
        #expect(result.stdout.contains("passed") && !result.stdout.contains("failures"), "\(result.stdout.suffix(2_000))")
    }
}

extension AuthorityServiceTests {
    /// The holder of a certificate, with `openssl cmp`: `kur` gets a new certificate for a new key (same
    /// subject), signed with the current one, and the replaced one can no longer update; `rr` for keyCompromise
    /// revokes the current one and every other still valid; the CRL lists them, `openssl verify -crl_check` refuses them.
    @Test func opensslCMPUpdatesAndRevokesWithTheCurrentCertificate() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        let activated = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", link, "--answers-file", answers,
                "--reference", try firstReference(scratch), "--password-file", password,
            ])
        #expect(activated.status == 0, "\(activated.stderr)")
        let profile = scratch.dataDir + "/profiles/Jeanne_Tremblay.p12"
        let dir = scratch.url.path
        let ca = server.dataDir + "/ca/ca-cert.pem"
        #expect(try openssl(["pkcs12", "-in", profile, "-passin", "file:\(password)", "-nocerts", "-nodes", "-out", dir + "/old.key"]).status == 0)
        #expect(try openssl(["pkcs12", "-in", profile, "-passin", "file:\(password)", "-clcerts", "-nokeys", "-out", dir + "/old.crt"]).status == 0)
        #expect(try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", dir + "/new.key"]).status == 0)
        let common = ["-server", "127.0.0.1:\(server.port)", "-path", "pkix/", "-tls_used", "-tls_trusted", ca, "-trusted", ca]

        let kur = try openssl(
            ["cmp", "-cmd", "kur"] + common + [
                "-cert", dir + "/old.crt", "-key", dir + "/old.key", "-newkey", dir + "/new.key", "-certout", dir + "/new.crt",
            ])
        let kurSaid = kur.stdout + kur.stderr
        #expect(kur.status == 0 && kurSaid.contains("received KUP") && kurSaid.contains("received PKICONF"), "\(kurSaid)")
        let subject = try openssl(["x509", "-in", dir + "/new.crt", "-noout", "-subject"]).stdout
        #expect(subject.contains("Jeanne Tremblay"))
        #expect(try openssl(["verify", "-CAfile", ca, dir + "/new.crt"]).status == 0)

        // A certificate this authority did not issue cannot sign a kur.
        let stranger = dir + "/stranger"
        _ = try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", stranger + ".key",
            "-out", stranger + ".crt", "-subj", "/CN=Jeanne Tremblay", "-days", "1",
        ])
        let refused = try openssl(
            ["cmp", "-cmd", "kur"] + common + [
                "-cert", stranger + ".crt", "-key", stranger + ".key", "-newkey", dir + "/new.key",
                "-certout", dir + "/stranger-new.crt", "-unprotected_errors",
            ])
        #expect(refused.status != 0 && (refused.stdout + refused.stderr).contains("signerNotTrusted"), "\(refused.stdout)\(refused.stderr)")
        // Nor can the replaced one (its key may be in a dated backup): only the current certificate updates.
        #expect(try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", dir + "/third.key"]).status == 0)
        let replaced = try openssl(
            ["cmp", "-cmd", "kur"] + common + [
                "-cert", dir + "/old.crt", "-key", dir + "/old.key", "-newkey", dir + "/third.key",
                "-certout", dir + "/third.crt", "-unprotected_errors",
            ])
        #expect(replaced.status != 0 && (replaced.stdout + replaced.stderr).contains("notAuthorized"), "\(replaced.stdout)\(replaced.stderr)")

        // The current key is compromised (reason 1): every certificate still valid goes, the replaced one too.
        let rr = try openssl(
            ["cmp", "-cmd", "rr"] + common + ["-cert", dir + "/new.crt", "-key", dir + "/new.key", "-oldcert", dir + "/new.crt", "-revreason", "1"])
        #expect(rr.status == 0 && (rr.stdout + rr.stderr).contains("revocation accepted"), "\(rr.stdout)\(rr.stderr)")
        let der = dir + "/crl.der"
        _ = try run(URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "--cacert", ca, "-o", der, server.url + "/crl"])
        #expect(try openssl(["crl", "-inform", "DER", "-in", der, "-out", dir + "/crl.pem"]).status == 0)
        let revoked = try openssl(["verify", "-crl_check", "-CAfile", ca, "-CRLfile", dir + "/crl.pem", dir + "/new.crt"])
        #expect(revoked.status != 0 && (revoked.stdout + revoked.stderr).contains("certificate revoked"))
        #expect(try openssl(["verify", "-crl_check", "-CAfile", ca, "-CRLfile", dir + "/crl.pem", dir + "/old.crt"]).status != 0)
        // A revoked certificate can no longer sign anything.
        let after = try openssl(
            ["cmp", "-cmd", "kur"] + common + [
                "-cert", dir + "/new.crt", "-key", dir + "/new.key", "-newkey", dir + "/old.key",
                "-certout", dir + "/again.crt", "-unprotected_errors",
            ])
        #expect(after.status != 0 && (after.stdout + after.stderr).contains("certRevoked"), "\(after.stdout)\(after.stderr)")
    }
}

extension AuthorityServiceTests {
    /// Issue 22, holes 1 and 2, as they were reproduced: six `openssl cmp -ref LIVE_REFERENCE -secret pass:anything`
    /// used to make the holder renew.
    ///
    /// Now they count against their address only (the 6th is refused for it, as is then even the right code from
    /// there), and the holder's kiosk, which names its application, activates.
    @Test func strangersWithOpensslCMPBurnNobodysCodesAndAreLimitedByAddress() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let applicant = Applicant()
        let (link, reference, code) = try approvedAndVerified(scratch, server)
        let key = try newKey(scratch, "key.pem")
        func enroll(_ secret: String) throws -> RunResult {
            try openssl([
                "cmp", "-cmd", "ir", "-server", "127.0.0.1:\(server.port)", "-path", "pkix/", "-tls_used",
                "-tls_trusted", server.dataDir + "/ca/ca-cert.pem", "-ref", reference, "-secret", "pass:\(secret)",
                "-newkey", key, "-subject", "/CN=x", "-certout", scratch.url.appendingPathComponent("cert.pem").path, "-unprotected_errors",
            ])
        }
        for attempt in 0..<6 {
            let refused = try enroll("anything-\(attempt)")
            let said = refused.stdout + refused.stderr
            #expect(refused.status != 0 && said.contains(attempt < 5 ? "badMessageCheck" : "notAuthorized"), "\(attempt): \(said)")
        }
        #expect(try scratch.authority(["show", link, "--json"]).stdout.contains("\"wrongReferencesInARow\" : 0"))
        let rightButLimited = try enroll(code)
        #expect(rightButLimited.status != 0 && (rightButLimited.stdout + rightButLimited.stderr).contains("notAuthorized"))
        // The holder, at a kiosk (from the same address): Paraphe's client names the application.
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        let activated = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", link, "--answers-file", answers, "--reference", reference,
                "--password-file", password,
            ])
        #expect(activated.status == 0, "\(activated.stderr)")
        #expect(try scratch.authority(["show", link, "--json"]).stdout.contains("\"status\" : \"activated\""))
    }
}

extension AuthorityServiceTests {
    /// Issue 22, hole 11: the service's log (its default level) names applications by a keyed digest, never by their
    /// token, through an approval, an identity check, a CMP enrollment and a recovery; `activate --link-file` keeps the
    /// link out of the process arguments.
    @Test func theServiceLogNamesApplicationsByDigestNeverByToken() throws {
        let scratch = try Scratch()
        let log = scratch.url.appendingPathComponent("serve.log").path
        let server = try AuthorityServer(dataDir: scratch.url.appendingPathComponent("authority").path, logFile: log)
        let applicant = Applicant()
        let (link, reference) = try server.approve(applicant, in: scratch)
        let token = String(try #require(link.split(separator: "/").last))
        let linkFile = try scratch.file("link", link + "\n")
        let activated = try paraphe([
            "activate", "--data-dir", scratch.dataDir, "--authority", server.url, "--authority-fingerprint", server.fingerprint,
            "--link-file", linkFile, "--answers-file", try scratch.file("answers", applicant.answers.joined(separator: "\n")),
            "--reference", reference, "--password-file", try scratch.file("password", applicant.password),
        ])
        #expect(activated.status == 0, "\(activated.stderr)")
        _ = try paraphe([
            "recover", "--email", applicant.email, "--data-dir", scratch.dataDir, "--authority", server.url,
            "--authority-fingerprint", server.fingerprint,
        ])
        Thread.sleep(forTimeInterval: 1)
        server.stop()
        let logged = try String(contentsOfFile: log, encoding: .utf8)
        let shown = try run(try parapheExecutable(name: "paraphe-authority-testable"), ["show", token, "--data-dir", server.dataDir]).stdout
        let name = String(try #require(shown.firstMatch(of: /application=([0-9a-f]{16})/)).1)
        #expect(
            logged.contains("application=\(name)") && logged.contains("identity verified") && logged.contains("certificate enrolled by CMP"),
            "\(logged.suffix(2_000))")
        let compact = token.replacingOccurrences(of: "-", with: "")
        #expect(!logged.contains(token) && !logged.contains(compact), "no token in the service's log")
        #expect(!activated.stderr.contains(token) && !activated.stdout.contains(token))
        #expect(
            try paraphe(["activate", "--link", link, "--link-file", linkFile, "--answers-file", "x", "--reference", "1", "--password-file", "x"])
                .status == 64)
    }
}

extension AuthorityServiceTests {
    /// Issue 22, hole 7: successful identity checks cost three full-cost hashes each and nothing else bounded them:
    /// at most 10 per application in 15 minutes per instance (`--identity-checks`), another application unaffected.
    @Test func identityChecksAreLimitedPerApplication() throws {
        let scratch = try Scratch()
        let server = try AuthorityServer(dataDir: scratch.url.appendingPathComponent("authority").path)
        func approve(_ email: String) throws -> String {
            let result = try run(
                try parapheExecutable(name: "paraphe-authority-testable"),
                [
                    "approve", "--data-dir", server.dataDir, "--name", "Jeanne Tremblay", "--email", email,
                    "--question", "q1?", "--question", "q2?", "--question", "q3?", "--answer", "a", "--answer", "b", "--answer", "c",
                ])
            return String(try #require(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "/").last))
        }
        let (first, second) = (try approve("a@example.com"), try approve("b@example.com"))
        let right = #"{"answers":["a","b","c"]}"#
        let statuses = try (0..<11).map { _ in try curl(server, "/api/v1/applications/\(first)/identity", method: "POST", json: right).0 }
        #expect(statuses == Array(repeating: 200, count: 10) + [429], "\(statuses)")
        #expect(try curl(server, "/api/v1/applications/\(second)/identity", method: "POST", json: right).0 == 200)
    }
}
