import Foundation
import Testing

/// The profile's life on the command line: password change (files or prompts).
@Suite(.serialized) struct ProfileMaintenanceCLITests {
    func activated(_ deployment: Deployment = .embedded) throws -> (Scratch, profile: String, password: String) {
        let scratch = try Scratch(deployment)
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        let result = try paraphe(
            ["activate"] + scratch.workstation + ["--link", link, "--answers-file", answers, "--reference", reference, "--password-file", password])
        #expect(result.status == 0, "\(result.stderr)")
        return (scratch, scratch.dataDir + "/profiles/Jeanne_Tremblay.p12", password)
    }

    @Test(arguments: Deployment.allCases) func aChangedPasswordOpensTheProfileAndTheOldOneNoLonger(deployment: Deployment) throws {
        let (scratch, profile, old) = try activated(deployment)
        let before = try Data(contentsOf: URL(fileURLWithPath: profile))
        let newPassword = "Orange-Violon-Minuit-83"
        let new = try scratch.file("new", newPassword + "\n")

        // A weak new password is refused (65) and changes nothing; a wrong current one too (77).
        let weak = try scratch.file("weak", "password123\n")
        let refused = try paraphe(["profile", "password", profile] + scratch.workstation + ["--password-file", old, "--new-password-file", weak])
        #expect(refused.status == 65, "\(refused.stderr)")
        let wrong = try scratch.file("wrong", "Not-The-Password-99\n")
        #expect(
            try paraphe(["profile", "password", profile] + scratch.workstation + ["--password-file", wrong, "--new-password-file", new]).status == 77)
        #expect(try Data(contentsOf: URL(fileURLWithPath: profile)) == before)

        let changed = try paraphe(["profile", "password", profile] + scratch.workstation + ["--password-file", old, "--new-password-file", new])
        #expect(changed.status == 0, "\(changed.stderr)")
        #expect(!changed.stderr.contains(newPassword) && !changed.stdout.contains(newPassword))
        let attributes = try FileManager.default.attributesOfItem(atPath: profile)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        // OpenSSL opens it with the new password only, at the same cost.
        let opened = try openssl(["pkcs12", "-info", "-in", profile, "-noout", "-passin", "file:\(new)"])
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect((opened.stdout + opened.stderr).contains("MAC: sha256, Iteration 600000"))
        #expect(try openssl(["pkcs12", "-info", "-in", profile, "-noout", "-passin", "file:\(old)"]).status != 0)
        #expect(try paraphe(["profile", "verify", profile, "--password-file", new] + scratch.workstation).status == 0)
        #expect(try paraphe(["profile", "verify", profile, "--password-file", old] + scratch.workstation).status == 77)
    }

    @Test func thePasswordsCanBeTypedAtPrompts() throws {
        let (scratch, profile, _) = try activated()
        let newPassword = "Orange-Violon-Minuit-83"
        let typed = Array("\(Applicant().password)\n\(newPassword)\n\(newPassword)\n".utf8)
        let changed = try paraphe(["profile", "password", profile, "--data-dir", scratch.dataDir], stdin: typed)
        #expect(changed.status == 0, "\(changed.stderr)")
        #expect(changed.stdout.contains("Current password") || changed.stderr.contains("Current password"))
        let new = try scratch.file("new", newPassword)
        #expect(try openssl(["pkcs12", "-info", "-in", profile, "-noout", "-passin", "file:\(new)"]).status == 0)
    }
}

extension ProfileMaintenanceCLITests {
    /// `profile update` (CMP kur signed with the current key) then `profile revoke` (CMP rr), in process for
    /// the embedded authority and over HTTPS for the service: a new key and certificate in the same file,
    /// the previous one kept, OpenSSL opening both; the revoked certificate on the CRL and refused.
    @Test(arguments: Deployment.allCases) func updateThenRevoke(deployment: Deployment) throws {
        let (scratch, profile, password) = try activated(deployment)
        let ca = scratch.authorityDir + "/ca/ca-cert.pem"
        let certificate = scratch.dataDir + "/profiles/Jeanne_Tremblay.pem"
        func serial() throws -> String {
            try #require(try openssl(["x509", "-in", certificate, "-noout", "-serial"]).stdout.split(separator: "=").last).trimmingCharacters(
                in: .whitespacesAndNewlines)
        }
        let before = try serial()
        let updated = try paraphe(["profile", "update", profile, "--password-file", password] + scratch.workstation)
        #expect(updated.status == 0, "\(updated.stderr)")
        let after = try serial()
        #expect(after != before, "a new certificate")
        #expect(updated.stdout.contains("CN=Jeanne Tremblay"))
        let backups = try FileManager.default.contentsOfDirectory(atPath: scratch.dataDir + "/profiles").filter {
            $0.hasPrefix("Jeanne_Tremblay.20") && $0.hasSuffix(".p12")
        }
        #expect(backups.count == 1, "\(backups)")
        let backup = scratch.dataDir + "/profiles/" + (backups.first ?? "")
        #expect(try openssl(["pkcs12", "-info", "-in", backup, "-noout", "-passin", "file:\(password)"]).status == 0)
        let wrongPassword = try scratch.file("wrong", "Not-The-Password-99")
        #expect(
            try openssl(["pkcs12", "-info", "-in", profile, "-noout", "-passin", "file:\(wrongPassword)"]).status != 0, "the right password only")
        let opened = try openssl(["pkcs12", "-in", profile, "-passin", "file:\(password)", "-clcerts", "-nokeys"])
        #expect(opened.status == 0 && opened.stdout.contains("BEGIN CERTIFICATE"))
        #expect(try openssl(["verify", "-CAfile", ca, certificate]).status == 0)
        // The key changed: the new certificate's key is not the backup's.
        let oldKey = try openssl(["pkcs12", "-in", backup, "-passin", "file:\(password)", "-nocerts", "-nodes"]).stdout
        let newKey = try openssl(["pkcs12", "-in", profile, "-passin", "file:\(password)", "-nocerts", "-nodes"]).stdout
        #expect(!oldKey.isEmpty && oldKey != newKey)

        let revoked = try paraphe(["profile", "revoke", profile, "--password-file", password, "--reason", "keyCompromise"] + scratch.workstation)
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let refused = try paraphe(["profile", "verify", profile, "--password-file", password] + scratch.workstation)
        #expect(refused.status == 77 && refused.stderr.contains("was revoked"), "\(refused.stderr)")
        let audit = try scratch.authority(["audit"]).stdout
        #expect(audit.contains("certificateUpdated") && audit.contains("serial \(after): keyCompromise"), "\(audit)")
        // Revoked: it can no longer sign a request either.
        let again = try paraphe(["profile", "update", profile, "--password-file", password] + scratch.workstation)
        #expect(again.status == 77, "\(again.stderr)")
    }
}

/// The wizard's log-in offers to update a profile near expiry (here: a window wider than the
/// certificate's life, set in the configuration file).
@Suite(.serialized) struct UpdateTmuxTests {
    @Test func theLogInOffersAnUpdateNearExpiryAndDoesIt() throws {
        let scratch = try Scratch()
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let config = scratch.url.appendingPathComponent("config/paraphe")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        try "[profile]\nupdate_window_days = 3650\n".write(to: config.appendingPathComponent("config.toml"), atomically: true, encoding: .utf8)
        let tmux = try TmuxSession(
            try wizardShellLine(scratch, "", environment: ["XDG_CONFIG_HOME": scratch.url.appendingPathComponent("config").path]))
        try tmux.waitFor("Step 1 of 5")
        try tmux.type(link)
        try tmux.keys("Enter")
        try tmux.waitFor("Step 2 of 5")
        for (index, answer) in applicant.answers.enumerated() {
            try tmux.type(answer)
            if index < 2 { try tmux.keys("Tab") }
        }
        try tmux.keys("Enter")
        try tmux.waitFor("Install the activation manager", timeout: 30)
        try tmux.keys("Enter")
        try tmux.waitFor("Every required component is installed", timeout: 30)
        try tmux.keys("Enter")
        try tmux.waitFor("Step 5 of 5")
        try tmux.type(try firstReference(scratch))
        try tmux.keys("Tab")
        try tmux.type(applicant.password)
        try tmux.keys("Tab")
        try tmux.type(applicant.password)
        try tmux.keys("Enter")
        try tmux.waitFor("Log in to it with your password", timeout: 60)
        try tmux.type(applicant.password)
        try tmux.keys("Enter")
        let offer = try tmux.waitFor("needs to be updated", timeout: 60)
        #expect(offer.contains("[ Update now ]"), "\(offer)")
        let before = try Data(contentsOf: URL(fileURLWithPath: scratch.dataDir + "/profiles/Jeanne_Tremblay.pem"))
        try tmux.keys("Enter")
        try tmux.waitFor("was updated", timeout: 60)
        let after = try Data(contentsOf: URL(fileURLWithPath: scratch.dataDir + "/profiles/Jeanne_Tremblay.pem"))
        #expect(before != after, "a new certificate")
        let backups = try FileManager.default.contentsOfDirectory(atPath: scratch.dataDir + "/profiles").filter { $0.hasPrefix("Jeanne_Tremblay.20") }
        #expect(backups.count == 1, "\(backups)")
        let password = try scratch.file("pw", applicant.password)
        #expect(
            try openssl(["pkcs12", "-info", "-in", scratch.dataDir + "/profiles/Jeanne_Tremblay.p12", "-noout", "-passin", "file:\(password)"]).status
                == 0)
    }
}
