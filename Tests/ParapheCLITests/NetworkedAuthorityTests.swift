import Foundation
import Testing

/// What only the networked shape has: the service restarting, stopping mid-step, a wrong pin, and a
/// workstation that keeps none of the authority's secrets.
@Suite(.serialized) struct NetworkedAuthorityTests {
    @Test func aFailedIdentityAttemptIsKeptAcrossAServiceRestart() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let answers = try scratch.file("answers", "Paris\nFido\nWrong\n")
        let password = try scratch.file("password", applicant.password)
        let arguments =
            ["activate"] + scratch.workstation + ["--link", link, "--answers-file", answers, "--reference", reference, "--password-file", password]
        let first = try paraphe(arguments)
        #expect(first.status == 77)
        #expect(first.stderr.contains("4 attempts remain"), "\(first.stderr)")

        server.stop()
        #expect(server.lastExit == 0, "SIGTERM drains and ends the service with status 0")
        let down = try paraphe(arguments)
        #expect(down.status == 69, "\(down.stderr)")
        #expect(down.stderr.contains("cannot be reached") && down.stderr.contains("nothing was used up"), "\(down.stderr)")

        try server.start()
        let second = try paraphe(arguments)
        #expect(second.stderr.contains("3 attempts remain"), "the attempt made while the service was down was not counted: \(second.stderr)")
        let show = try scratch.authority(["show", link, "--json"]).stdout
        #expect(show.contains("\"identityAttemptsRemaining\" : 3"))
    }

    @Test func aWrongFingerprintIsRefusedAndNothingIsInstalled() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let wrong = String(repeating: "AB:", count: 31) + "AB"
        let result = try paraphe([
            "components", "install", "--data-dir", scratch.dataDir, "--authority", server.url, "--authority-fingerprint", wrong,
        ])
        #expect(result.status == 77, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("does not have the configured fingerprint"), "\(result.stderr)")
        #expect(result.stderr.contains(server.fingerprint), "the message shows the fingerprint the service offers")
        #expect(!FileManager.default.fileExists(atPath: scratch.dataDir + "/trust/paraphe-ca.pem"))

        // The right one, with colons or not, any case, installs the CA as the trust anchor.
        let bare = server.fingerprint.replacingOccurrences(of: ":", with: "").lowercased()
        let right = try paraphe(["components", "install", "--data-dir", scratch.dataDir, "--authority", server.url, "--authority-fingerprint", bare])
        #expect(right.status == 0, "\(right.stdout)\(right.stderr)")
        let installed = try openssl(["x509", "-in", scratch.dataDir + "/trust/paraphe-ca.pem", "-noout", "-fingerprint", "-sha256"]).stdout
        #expect(installed.contains(server.fingerprint))
    }

    @Test func withoutAPinTheFingerprintIsShownAndMustBeConfirmed() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let arguments = ["components", "install", "--data-dir", scratch.dataDir, "--authority", server.url]
        let refused = try paraphe(arguments, stdin: Array("no\n".utf8))
        #expect(refused.status == 77)
        #expect(refused.stdout.contains(server.fingerprint), "\(refused.stdout)")
        #expect(!FileManager.default.fileExists(atPath: scratch.dataDir + "/trust/paraphe-ca.pem"))
        let confirmed = try paraphe(arguments, stdin: Array("yes\n".utf8))
        #expect(confirmed.status == 0, "\(confirmed.stdout)\(confirmed.stderr)")
        #expect(FileManager.default.fileExists(atPath: scratch.dataDir + "/trust/paraphe-ca.pem"))
    }

    @Test func theServiceStoppedMidStepShowsAMessageAndThePersonFinishesOnceItIsBack() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let tmux = try TmuxSession(try wizardShellLine(scratch, ""))
        try tmux.waitFor("Step 1 of 5")
        try tmux.type(link)
        try tmux.keys("Enter")
        try tmux.waitFor("Step 2 of 5 — Security questions")

        server.stop()
        try tmux.type(applicant.answers[0])
        try tmux.keys("Tab")
        try tmux.type(applicant.answers[1])
        try tmux.keys("Tab")
        try tmux.type("not this one")
        try tmux.keys("Enter")
        let down = try tmux.waitFor("cannot be reached", timeout: 30)
        #expect(down.contains("Step 2 of 5"), "the person stays on the step")
        #expect(down.contains("nothing you typed is lost"))
        #expect(down.contains("Retry"), "\(down)")

        try server.start()
        try tmux.keys("Enter")
        try tmux.waitFor("Step 3 of 5", timeout: 30)
        let show = try scratch.authority(["show", link, "--json"]).stdout
        #expect(show.contains("\"identityAttemptsRemaining\" : 5"), "the request that never arrived spent nothing")
    }
}

extension NetworkedAuthorityTests {
    /// A kiosk is configured by a file: the authority, its fingerprint, kiosk mode and the profile folder
    /// come from `$XDG_CONFIG_HOME/paraphe/config.toml`; a flag on the command line wins.
    @Test func theConfigurationFileSetsTheAuthorityAndAFlagWins() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let config = scratch.url.appendingPathComponent("config/paraphe")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        let profiles = scratch.url.appendingPathComponent("medium")
        try FileManager.default.createDirectory(at: profiles, withIntermediateDirectories: true)
        try """
        data_dir = "\(scratch.dataDir)"
        [authority]
        url = "\(server.url)"
        fingerprint = "\(server.fingerprint)"
        request_timeout = 20
        [kiosk]
        profile_dir = "\(profiles.path)"
        """.write(to: config.appendingPathComponent("config.toml"), atomically: true, encoding: .utf8)
        let environment = ["XDG_CONFIG_HOME": scratch.url.appendingPathComponent("config").path]
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        let result = try paraphe(
            ["activate", "--link", link, "--answers-file", answers, "--reference", reference, "--password-file", password],
            environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: profiles.appendingPathComponent("Jeanne_Tremblay.p12").path), "kiosk.profile_dir used")
        #expect(FileManager.default.fileExists(atPath: scratch.dataDir + "/trust/paraphe-ca.pem"), "data_dir used")

        // The flag wins over the file: a wrong fingerprint on the command line is refused.
        let wrong = String(repeating: "00", count: 32)
        let flagged = try paraphe(["components", "--authority-fingerprint", wrong], environment: environment)
        #expect(flagged.status == 77, "\(flagged.stdout)\(flagged.stderr)")

        // A mistake in the file is named with its line, and nothing runs.
        try "[authority]\nurl = 42\n".write(to: config.appendingPathComponent("config.toml"), atomically: true, encoding: .utf8)
        let broken = try paraphe(["components"], environment: environment)
        #expect(
            broken.status == 65 && broken.stderr.contains("config.toml") && broken.stderr.contains("authority.url must be a string"),
            "\(broken.stderr)")
    }

    @Test func aKioskWithANetworkedAuthorityNeedsItsFingerprint() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let result = try paraphe(["wizard", "--kiosk", "--data-dir", scratch.dataDir, "--authority", server.url])
        #expect(result.status == 64)
        #expect(result.stderr.contains("needs its fingerprint"), "\(result.stderr)")
    }
}

/// Issue 22, hole 5: nothing carrying a token, an answer, a code, a reference number or an address leaves the
/// workstation before the authority's CA is pinned, installed or confirmed.
@Suite(.serialized) struct TrustOnFirstUseTests {
    /// Routes the service's access log shows (it logs route patterns, never paths).
    func routes(_ log: String) -> [String] {
        log.matches(of: /route=(\S+)/).map { String($0.1) }
    }

    @Test func commandsRefuseAnUnpinnedAuthorityAndSayHowToPinIt() throws {
        let scratch = try Scratch()
        let log = scratch.url.appendingPathComponent("serve.log").path
        let server = try AuthorityServer(dataDir: scratch.url.appendingPathComponent("authority").path, logFile: log)
        let applicant = Applicant()
        let (link, reference) = try server.approve(applicant, in: scratch)
        let unpinned = ["--data-dir", scratch.dataDir, "--authority", server.url]
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        func activate(_ workstation: [String]) throws -> RunResult {
            try paraphe(
                ["activate"] + workstation + ["--link", link, "--answers-file", answers, "--reference", reference, "--password-file", password])
        }
        let refusedActivation = try activate(unpinned)
        let refusedRecovery = try paraphe(["recover", "--email", applicant.email] + unpinned)
        for refused in [refusedActivation, refusedRecovery] {
            #expect(refused.status == 64, "\(refused.stderr)")
            #expect(refused.stderr.contains(server.fingerprint) && refused.stderr.contains("--authority-fingerprint"), "\(refused.stderr)")
        }
        let unpinnedRoutes = routes(try String(contentsOfFile: log, encoding: .utf8))
        #expect(unpinnedRoutes.count >= 2 && unpinnedRoutes.allSatisfy { $0 == "/api/v1/ca" }, "only the CA was asked for: \(unpinnedRoutes)")

        // A profile made on a workstation that pinned the authority, then used from one that trusts nothing yet.
        let pinnedData = scratch.url.appendingPathComponent("pinned").path
        let pinned = try activate(["--data-dir", pinnedData, "--authority", server.url, "--authority-fingerprint", server.fingerprint])
        #expect(pinned.status == 0, "\(pinned.stderr)")
        let seen = routes(try String(contentsOfFile: log, encoding: .utf8)).count
        let revoke = try paraphe(["profile", "revoke", pinnedData + "/profiles/Jeanne_Tremblay.p12", "--password-file", password] + unpinned)
        #expect(revoke.status == 64 && revoke.stderr.contains(server.fingerprint), "\(revoke.stderr)")
        // `components install` stays the command-line way to confirm one (it installs the CA in the trust store).
        let declined = try paraphe(["components", "install"] + unpinned, stdin: Array("no\n".utf8))
        #expect(declined.status == 77 && declined.stdout.contains(server.fingerprint), "\(declined.stdout)\(declined.stderr)")
        let after = routes(try String(contentsOfFile: log, encoding: .utf8))
        #expect(after.dropFirst(seen).allSatisfy { $0 == "/api/v1/ca" }, "\(after.dropFirst(seen))")
        let confirmed = try paraphe(["components", "install"] + unpinned, stdin: Array("yes\n".utf8))
        #expect(confirmed.status == 0, "\(confirmed.stdout)\(confirmed.stderr)")
        let now = try paraphe(["recover", "--email", applicant.email] + unpinned)
        #expect(now.status == 0, "the installed CA vouches for the authority: \(now.stderr)")
        server.stop()
    }

    @Test func theWizardAsksAtStepOneBeforeTheLinkGoes() throws {
        let scratch = try Scratch(.networked)
        let server = try #require(scratch.server)
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let binary = try parapheExecutable().path
        let line =
            "cd \(shellQuote(scratch.url.path)) && env LANG=C.UTF-8 \(shellQuote(binary)) wizard --data-dir \(shellQuote(scratch.dataDir)) "
            + "--authority \(shellQuote(server.url)); echo \"EXIT:$?\"; sleep 600"
        let tmux = try TmuxSession(line)
        try tmux.waitFor("Step 1 of 5")
        try tmux.type(link)
        try tmux.keys("Enter")
        let shown = try tmux.waitFor("trust this authority", timeout: 30)
        let halves = [String(server.fingerprint.prefix(48)), String(server.fingerprint.dropFirst(48))]
        #expect(halves.allSatisfy { shown.contains($0) }, "the fingerprint, in two halves: \(shown)")
        #expect(try scratch.authority(["show", link, "--json"]).stdout.contains("\"identityAttemptsRemaining\" : 5"))
        try tmux.keys("Enter")
        try tmux.waitFor("Step 2 of 5", timeout: 30)
    }
}
