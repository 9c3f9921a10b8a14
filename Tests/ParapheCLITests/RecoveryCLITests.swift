import Foundation
import Testing

/// "Recover my digital signature" on the command line, in both deployment shapes: the recovery email,
/// the steps again, a new certificate, and the old one revoked (superseded) only once the new profile
/// is written and logged in to — also when the recovery is interrupted by kill -9.
@Suite(.serialized) struct RecoveryCLITests {
    @Test(arguments: Deployment.allCases) func aLostProfileIsRecoveredAndTheOldCertificateSuperseded(deployment: Deployment) throws {
        let scratch = try Scratch(deployment)
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        func activate(_ reference: String, environment: [String: String] = [:]) throws -> RunResult {
            try paraphe(
                ["activate"] + scratch.workstation + [
                    "--link", link, "--answers-file", answers, "--reference", reference, "--password-file", password,
                ],
                environment: environment)
        }
        #expect(try activate(try firstReference(scratch)).status == 0)
        let profiles = URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("profiles")
        let certificate = profiles.appendingPathComponent("Jeanne_Tremblay.pem").path
        let oldSerial = try #require(try openssl(["x509", "-in", certificate, "-noout", "-serial"]).stdout.split(separator: "=").last)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // The profile is lost.
        try FileManager.default.removeItem(at: profiles)

        // An unknown address gets the same answer and no mail.
        let mailsBefore = try scratch.mails().count
        let unknown = try paraphe(["recover", "--email", "nobody@example.com"] + scratch.workstation)
        let known = try paraphe(["recover", "--email", "JEANNE.tremblay@example.com"] + scratch.workstation)
        #expect(unknown.status == 0 && known.status == 0, "\(unknown.stderr)\(known.stderr)")
        #expect(unknown.stdout == known.stdout, "the same answer whether or not the address is known")
        let mails = try scratch.mails(atLeast: mailsBefore + 1, settle: true)
        #expect(mails.count == mailsBefore + 1)
        let recovery = try #require(mails.last)
        #expect(recovery.contains("Subject: Digital Signature : Recovery"))
        #expect(recovery.contains(link))
        let newReference = try #require(line(after: "Reference number:", in: recovery))
        #expect(newReference != (try firstReference(scratch)))

        // Killed once the new profile is written, before its first log-in: the old certificate is still good.
        let crashed = try activate(newReference, environment: ["PARAPHE_TEST_CRASH_AT": "profileWritten"])
        #expect(crashed.status == SIGKILL)
        #expect(!(try isRevoked(oldSerial, in: scratch)), "never revoked before the new profile is logged in to")

        // The rerun finishes: a new certificate, the old one superseded.
        let finished = try activate(newReference)
        #expect(finished.status == 0, "\(finished.stderr)")
        let newSerial = try #require(try openssl(["x509", "-in", certificate, "-noout", "-serial"]).stdout.split(separator: "=").last)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(newSerial != oldSerial)
        #expect(try isRevoked(oldSerial, in: scratch, reason: "Superseded"))
        #expect(!(try isRevoked(newSerial, in: scratch)))
        #expect(try openssl(["verify", "-CAfile", scratch.authorityDir + "/ca/ca-cert.pem", certificate]).status == 0)

        // At most 3 recovery emails in 24 hours.
        for _ in 0..<4 { _ = try paraphe(["recover", "--email", applicant.email] + scratch.workstation) }
        let sent = try scratch.mails(atLeast: mailsBefore + 3, settle: true).filter { $0.contains("Subject: Digital Signature : Recovery") }.count
        #expect(sent == 3, "\(sent) recovery emails")
    }

    /// Whether the authority's CRL lists `serial` (with `reason`, if given).
    func isRevoked(_ serial: String, in scratch: Scratch, reason: String? = nil) throws -> Bool {
        let pem = try scratch.authority(["crl"]).stdout
        let file = try scratch.file("crl-\(UUID().uuidString).pem", pem)
        let text = try openssl(["crl", "-in", file, "-noout", "-text"]).stdout
        guard let range = text.range(of: "Serial Number: \(serial)") else { return false }
        guard let reason else { return true }
        return text[range.upperBound...].prefix(200).contains(reason)
    }
}

/// The same recovery through the wizard's screens, in tmux.
@Suite(.serialized) struct RecoveryTmuxTests {
    @Test(arguments: Deployment.allCases) func recoverMyDigitalSignatureByKeys(deployment: Deployment) throws {
        let scratch = try Scratch(deployment)
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        #expect(
            try paraphe(
                ["activate"] + scratch.workstation + [
                    "--link", link, "--answers-file", answers, "--reference", try firstReference(scratch),
                    "--password-file", password,
                ]
            ).status == 0)
        let profiles = URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("profiles")
        let oldSerial = try #require(
            try openssl(["x509", "-in", profiles.appendingPathComponent("Jeanne_Tremblay.pem").path, "-noout", "-serial"])
                .stdout.split(separator: "=").last
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.removeItem(at: profiles)  // lost

        let tmux = try TmuxSession(try wizardShellLine(scratch, ""))
        try tmux.waitFor("Step 1 of 5")
        try tmux.keys("Tab", "Tab")
        try tmux.waitFor("Enter Recover")
        try tmux.keys("Enter")
        try tmux.waitFor("Email address")
        try tmux.type(applicant.email)
        try tmux.keys("Enter")
        try tmux.waitFor("a recovery email was sent", timeout: 30)
        let mail = try #require(try scratch.mails(atLeast: 2).last { $0.contains("Subject: Digital Signature : Recovery") })
        let reference = try #require(line(after: "Reference number:", in: mail))

        try tmux.type(link)
        try tmux.keys("Enter")
        try tmux.waitFor("Step 2 of 5", timeout: 30)
        try tmux.type(applicant.answers[0])
        try tmux.keys("Tab")
        try tmux.type(applicant.answers[1])
        try tmux.keys("Tab")
        try tmux.type(applicant.answers[2])
        try tmux.keys("Enter")
        try tmux.waitFor("Step 3 of 5", timeout: 30)
        // The profile folder went with the lost profile: the activation manager installs it again.
        try tmux.waitFor("Install the activation manager", timeout: 30)
        try tmux.keys("Enter")
        try tmux.waitFor("Every required component is installed", timeout: 30)
        try tmux.keys("Enter")
        try tmux.waitFor("Step 5 of 5", timeout: 30)
        let newPassword = "Orange-Violon-Minuit-83"
        try tmux.type(reference)
        try tmux.keys("Tab")
        try tmux.type(newPassword)
        try tmux.keys("Tab")
        try tmux.type(newPassword)
        try tmux.waitFor("✔ Both entries match")
        try tmux.keys("Enter")
        try tmux.waitFor("Log in to it with your password", timeout: 60)
        // Written, not logged in to yet: the old certificate is still good.
        #expect(!(try RecoveryCLITests().isRevoked(oldSerial, in: scratch)))
        try tmux.type(newPassword)
        try tmux.keys("Enter")
        try tmux.waitFor("Your digital signature is activated.", timeout: 60)
        #expect(try RecoveryCLITests().isRevoked(oldSerial, in: scratch, reason: "Superseded"))
        let newPasswordFile = try scratch.file("new-password", newPassword)
        #expect(
            try openssl([
                "pkcs12", "-info", "-in", profiles.appendingPathComponent("Jeanne_Tremblay.p12").path, "-noout",
                "-passin", "file:\(newPasswordFile)",
            ]).status == 0)
    }
}
