import Foundation
import Testing

/// "Contact Customer Service" — whom: the authority's configuration names its customer service, the service publishes it
/// (`GET /api/v1/about`, the mail), the workstation names it in every message that sends the person there, and a kiosk
/// may name its own help desk instead.
@Suite(.serialized) struct CustomerServiceCLITests {
    static let authorityFile = """
        # The authority's customer service.
        name = "CA Support"
        phone = "+1 514 555-0199"
        email = "support@ca.example"
        hours = "Monday to Friday"

        [fr]
        name = "Soutien de l’AC"
        hours = "Du lundi au vendredi"
        """

    func curl(_ server: AuthorityServer, _ path: String) throws -> (Int, String) {
        let result = try run(
            URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "--cacert", server.dataDir + "/ca/ca-cert.pem", "-w", "\n%{http_code}", server.url + path])
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? -1, lines.dropLast().joined(separator: "\n"))
    }

    /// The workstation's config directory (`XDG_CONFIG_HOME`) with `text` as its `paraphe/config.toml`.
    func configuration(_ scratch: Scratch, _ text: String) throws -> [String: String] {
        let folder = scratch.url.appendingPathComponent("config/paraphe")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try text.write(to: folder.appendingPathComponent("config.toml"), atomically: true, encoding: .utf8)
        return ["XDG_CONFIG_HOME": scratch.url.appendingPathComponent("config").path]
    }

    @Test func theServicePublishesItsCustomerServiceAndTheWorkstationNamesIt() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let (before, none) = try curl(server, "/api/v1/about")
        #expect(before == 200 && none == #"{"customerService":null}"#, "\(none)")

        _ = try scratch.file("authority/customer-service.toml", Self.authorityFile)
        server.stop()
        try server.start()
        let (status, about) = try curl(server, "/api/v1/about")
        #expect(status == 200, "\(about)")
        let published = try #require(try JSONSerialization.jsonObject(with: Data(about.utf8)) as? [String: Any])
        let contact = try #require(published["customerService"] as? [String: [String: String]])
        #expect(contact["en"] == ["name": "CA Support", "phone": "+1 514 555-0199", "email": "support@ca.example", "hours": "Monday to Friday"])
        // Each language's contact whole: French takes the phone and email it does not give.
        #expect(contact["fr"]?["phone"] == "+1 514 555-0199" && contact["fr"]?["name"] == "Soutien de l’AC")

        // The approval email names it under "contact our Customer Service".
        let link = try Applicant().approve(in: scratch)
        let mail = try #require(try scratch.mails().first)
        #expect(
            mail.contains("For any question, contact our Customer Service.\n\n  CA Support\n  Phone: +1 514 555-0199\n  Email: support@ca.example"))

        // A message that sends the person to customer service names it (after the look-up asked the authority).
        #expect(try scratch.authority(["revoke", link, "--reason", "cessationOfOperation"]).status == 0)
        let revoked = try paraphe(["wizard", "--plain", "--lang", "en"] + scratch.workstation + [link], stdin: [])
        #expect(
            revoked.stdout.contains(
                "This application was revoked. Submit a new online application; for any question, contact Customer Service. "
                    + "CA Support: +1 514 555-0199, support@ca.example; Monday to Friday."),
            "\(revoked.stdout)\(revoked.stderr)")
        // Kept for the next start (messages before the authority answers).
        let kept = try String(contentsOfFile: scratch.dataDir + "/authority-contact.json", encoding: .utf8)
        #expect(kept.contains("CA Support"))
        let french = try paraphe(["wizard", "--plain", "--lang", "fr"] + scratch.workstation + [link], stdin: [])
        #expect(french.stdout.contains("Soutien de l’AC : +1 514 555-0199, support@ca.example ; Du lundi au vendredi."), "\(french.stdout)")

        // A kiosk's own help desk replaces it everywhere.
        let environment = try configuration(
            scratch,
            "[customer_service]\nname = \"Library help desk\"\nphone = \"+1 514 555-0123\"\n[customer_service.fr]\nname = \"Comptoir d’aide\"\n")
        let local = try paraphe(["wizard", "--plain", "--lang", "en"] + scratch.workstation + [link], environment: environment, stdin: [])
        #expect(local.stdout.contains("contact Customer Service. Library help desk: +1 514 555-0123."), "\(local.stdout)")
        #expect(!local.stdout.contains("CA Support"))
    }

    @Test func aContactThatCannotBeShownIsRefusedWhereItIsWritten() throws {
        let scratch = try Scratch()
        _ = try Applicant().approve(in: scratch)
        // The authority's file: named with the field at fault, and nothing runs.
        _ = try scratch.file("data/customer-service.toml", "phone = \"1\"\nweb = \"ftp://ca.example\"\n")
        let authority = try scratch.authority(["list"])
        #expect(
            authority.status == 65 && authority.stderr.contains("customer-service.toml: web: a web page starts with https://"), "\(authority.stderr)")
        _ = try scratch.file("data/customer-service.toml", "phone = \"1\"\nfax = \"2\"\n")
        #expect(try scratch.authority(["list"]).stderr.contains("unknown setting fax"))
        _ = try scratch.file("data/customer-service.toml", "phone = \"1\"\n")
        #expect(try scratch.authority(["list"]).status == 0)

        // The workstation's: the same.
        // (A TOML escape: the file itself may not hold the control character.)
        let environment = try configuration(scratch, "[customer_service]\nphone = \"+1\\u001b[2J\"\n")
        let workstation = try paraphe(["components", "--data-dir", scratch.dataDir], environment: environment)
        #expect(
            workstation.status == 65 && workstation.stderr.contains("customer_service.phone: control characters are not allowed"),
            "\(workstation.stderr)")
        #expect(!workstation.stderr.contains("\u{1B}"))
    }

    /// The packages' example (`/usr/share/doc/paraphe-authority/examples/`) is refused until a way to reach the service
    /// is filled in, and accepted once its lines are uncommented.
    @Test func thePackagedExampleWorksOnceFilledIn() throws {
        let scratch = try Scratch()
        _ = try Applicant().approve(in: scratch)
        let example = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../packaging/customer-service.toml"),
            encoding: .utf8)
        let asShipped = try scratch.file("shipped.toml", example)
        let refused = try scratch.authority(["list", "--customer-service", asShipped])
        #expect(refused.status == 65 && refused.stderr.contains("give a phone, an email or a web page"), "\(refused.stderr)")
        let filled = example.split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in line.hasPrefix("#") && line.contains(" = ") ? String(line.dropFirst()) : String(line) }.joined(separator: "\n")
        let accepted = try scratch.authority(["list", "--customer-service", try scratch.file("filled.toml", filled)])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(try scratch.authority(["list", "--customer-service", scratch.url.appendingPathComponent("none.toml").path]).status == 66)
    }
}
