import Foundation
import Testing

/// The wizard finishes every activation it starts: killed (kill -9) at each point after "Download
/// and Activate", or quit with F10 before logging in, it is started again with the same link and
/// finishes — one profile that OpenSSL opens, one certificate issued, no parked key or temp file left.
@Suite(.serialized) struct ResumeTests {
    let applicant = Applicant()

    /// Steps 2 to 5 by keys, up to "Download and Activate".
    func activateByKeys(_ tmux: TmuxSession, reference: String) throws {
        try tmux.waitFor("Step 2 of 5 — Security questions")
        for (index, answer) in applicant.answers.enumerated() {
            try tmux.type(answer)
            try tmux.keys(index < 2 ? "Tab" : "Enter")
        }
        let components = try tmux.waitFor("step 3") {
            $0.contains("Install the activation manager") || $0.contains("Every required component is installed")
        }
        if !components.contains("Every required component is installed") {
            try tmux.keys("Enter")
            try tmux.waitFor("Every required component is installed")
        }
        try tmux.keys("Enter")
        try tmux.waitFor("Step 5 of 5")
        try tmux.type(reference)
        try tmux.keys("Tab")
        try tmux.type(applicant.password)
        try tmux.keys("Tab")
        try tmux.type(applicant.password)
        try tmux.waitFor("✔ Both entries match")
        try tmux.keys("Enter")
    }

    /// One profile OpenSSL opens, the application activated by exactly one certificate, nothing left over.
    func expectFinished(_ scratch: Scratch, link: String, context: String) throws {
        let profiles = URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("profiles")
        let files = Set((try? FileManager.default.contentsOfDirectory(atPath: profiles.path)) ?? [])
        #expect(files == ["Jeanne_Tremblay.p12", "Jeanne_Tremblay.pem"], "\(context): the profile folder holds \(files)")
        let password = try scratch.file("password-\(UUID().uuidString)", applicant.password)
        let opened = try openssl([
            "pkcs12", "-in", profiles.appendingPathComponent("Jeanne_Tremblay.p12").path, "-nodes", "-passin", "file:\(password)",
        ])
        #expect(opened.status == 0 && opened.stdout.contains("BEGIN PRIVATE KEY"), "\(context): openssl cannot open the profile")
        let show = try paraphe(["authority", "show", link, "--data-dir", scratch.dataDir, "--json"])
        #expect(show.stdout.contains("\"status\" : \"activated\""), "\(context)")
        let audit = try paraphe(["authority", "audit", "--data-dir", scratch.dataDir, "--json"]).stdout
        #expect(audit.matches(of: /"event" : "certificateIssued"/).count == 1, "\(context): one certificate")
        let pending = URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("keystore/pending")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: pending.path)) ?? []).isEmpty, "\(context): parked key left")
    }

    @Test(arguments: ["keyParked", "certificateIssued", "certificateFileWritten", "profileWritten"])
    func killedAfterDownloadAndActivateThenFinishedByTheWizard(point: String) throws {
        let scratch = try Scratch()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        do {
            let tmux = try TmuxSession(try wizardShellLine(scratch, shellQuote(link), environment: ["PARAPHE_TEST_CRASH_AT": point]))
            try activateByKeys(tmux, reference: reference)
            try tmux.waitFor("EXIT:137")
        }
        // Started again with the same link.
        let tmux = try TmuxSession(try wizardShellLine(scratch, shellQuote(link)))
        if point == "keyParked" {
            // Nothing was spent at the authority: the steps again, and the parked key is used.
            try activateByKeys(tmux, reference: reference)
            try tmux.waitFor("Log in to it with your password")
            try tmux.type(applicant.password)
            try tmux.keys("Enter")
        } else {
            let screen = try tmux.waitFor("Finish activation")
            #expect(!screen.contains("already activated"), "\(point)")
            try tmux.type(applicant.password)
            try tmux.keys("Enter")
        }
        try tmux.waitFor("Your digital signature is activated.")
        try tmux.keys("Enter")
        try tmux.waitFor("EXIT:0")
        try expectFinished(scratch, link: link, context: point)
    }

    @Test func f10BeforeLoggingInAsksThenSaysHowToFinishAndTheRerunLogsIn() throws {
        let scratch = try Scratch()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        do {
            let tmux = try TmuxSession(try wizardShellLine(scratch, shellQuote(link)))
            try activateByKeys(tmux, reference: reference)
            try tmux.waitFor("Log in to it with your password")
            try tmux.keys("F10")
            try tmux.waitFor("Press F10 again to quit")
            try tmux.keys("F10")
            let after = try tmux.waitFor("EXIT:0")
            // Back at the shell, the person is told where the profile is and how to finish.
            #expect(after.contains("Your profile is written") && after.contains("Jeanne_Tremblay.p12"))
        }
        let tmux = try TmuxSession(try wizardShellLine(scratch, shellQuote(link)))
        try tmux.waitFor("Your profile was written on this workstation")
        try tmux.type(applicant.password)
        try tmux.keys("Enter")
        try tmux.waitFor("Your digital signature is activated.")
        try tmux.keys("Enter")
        try tmux.waitFor("EXIT:0")
        try expectFinished(scratch, link: link, context: "F10 at log-in")
    }

    @Test(arguments: ["certificateIssued", "profileWritten"])
    func plainModeKilledThenFinishedWithThePasswordOnly(point: String) throws {
        let scratch = try Scratch()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let lines = applicant.answers + ["y", reference, applicant.password, applicant.password, applicant.password]
        let killed = try paraphe(
            ["wizard", "--plain", "--data-dir", scratch.dataDir, link],
            environment: ["PARAPHE_TEST_CRASH_AT": point], stdin: Array((lines.joined(separator: "\n") + "\n").utf8))
        #expect(killed.status == SIGKILL, "\(point): \(killed.stderr)")
        // Again with the same link: only the password is asked, and it finishes and logs in.
        let rerun = try paraphe(["wizard", "--plain", "--data-dir", scratch.dataDir, link], stdin: Array((applicant.password + "\n").utf8))
        #expect(rerun.status == 0, "\(point): \(rerun.stdout) \(rerun.stderr)")
        #expect(rerun.stdout.contains("Password you chose for this activation:"), "\(point)")
        #expect(rerun.stdout.contains("Your digital signature is activated."), "\(point)")
        #expect(!rerun.stdout.contains(applicant.password))
        try expectFinished(scratch, link: link, context: "plain \(point)")
    }

    @Test func theShippedBinaryHasNoCrashPoints() throws {
        let scratch = try Scratch()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        let shipped = try run(
            try parapheExecutable(name: "paraphe"),
            [
                "activate", "--data-dir", scratch.dataDir, "--link", link, "--answers-file", answers, "--reference", reference,
                "--password-file", password,
            ],
            environment: ["PARAPHE_TEST_CRASH_AT": "keyParked", "PARAPHE_FAKE_NOW": "2040-01-01T00:00:00Z"])
        #expect(shipped.status == 0, "\(shipped.stderr)")
        try expectFinished(scratch, link: link, context: "shipped binary")
    }
}
