import Foundation
import Testing

/// The full-screen wizard in a real terminal (tmux at 80×24), driven by keys as a person would.
@Suite(.serialized) struct WizardTmuxTests {
    /// A shell line that runs the wizard, then reports its exit status and the terminal mode.
    func wizardCommand(_ scratch: Scratch, _ extra: String = "") throws -> String {
        try wizardShellLine(scratch, extra)
    }

    @Test(arguments: Deployment.allCases) func aCompleteActivationByKeys(deployment: Deployment) throws {
        let scratch = try Scratch(deployment)
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let tmux = try TmuxSession(try wizardCommand(scratch))

        // Step 1: the link, pasted with blanks around it.
        try tmux.waitFor("Step 1 of 5 — Approval email")
        try tmux.type("  \(link)  ")
        try tmux.keys("Enter")

        // Step 2: one wrong submission first, then the right answers (case and accents ignored).
        try tmux.waitFor("Step 2 of 5 — Security questions")
        try tmux.type("Paris")
        try tmux.keys("Tab")
        try tmux.type("Fido")
        try tmux.keys("Tab")
        try tmux.type("Dune")
        try tmux.keys("Enter")
        let failed = try tmux.waitFor("4 attempts remain")
        // Focus is back on the first answer, but no answer shows again once its field was left (issue
        // 10.12): "Hide answers" is ticked, and typing in a field still shows it masked.
        #expect(!failed.contains("Paris") && !failed.contains("Fido") && !failed.contains("Dune"), "answers are masked once their field is left")
        #expect(failed.contains("[x] Hide answers"))
        #expect(failed.contains("Attempts remaining: 4 of 5"))
        // Correct the answers: Ctrl-U clears a field.
        try tmux.keys("C-u")
        try tmux.type("MONTREAL")
        try tmux.keys("Tab", "C-u")
        try tmux.type("rex")
        try tmux.keys("Enter")

        // Step 3: the activation manager is missing; install it, then Next.
        try tmux.waitFor("Step 3 of 5 — Required software")
        try tmux.waitFor("Install the activation manager")
        try tmux.keys("Enter")
        try tmux.waitFor("Every required component is installed")
        try tmux.keys("Enter")

        // Step 5 (codes valid: step 4 passes straight on, saying until when).
        try tmux.waitFor("Step 5 of 5 — Activation of the digital certificate")
        try tmux.waitFor("no renewal")
        try tmux.type(reference.replacingOccurrences(of: "-", with: " "))
        try tmux.keys("Tab")
        try tmux.type(applicant.password)
        try tmux.keys("Tab")
        try tmux.type(applicant.password)
        let ticked = try tmux.waitFor("✔ Both entries match")
        #expect(!ticked.contains(applicant.password))
        try tmux.keys("Enter")

        // Progress, then log in to the new profile.
        // The log-in offers to make the signature available to the applications (ticked).
        let login = try tmux.waitFor("Log in to it with your password", timeout: 60)
        #expect(login.contains("[x] Make my digital signature available to the applications of this"))
        try tmux.type(applicant.password)
        try tmux.keys("Enter")
        let summary = try tmux.waitFor("Your digital signature is activated.", timeout: 60)
        #expect(summary.contains("CN=Jeanne Tremblay"))
        #expect(summary.contains("Jeanne_Tremblay.p12"))
        #expect(!summary.contains(applicant.password))
        #expect(summary.contains("Applications:     available as \"Jeanne_Tremblay\" (NSS, p11-kit)"), "\(summary)")
        let database = scratch.url.appendingPathComponent("home/.pki/nssdb").path
        let modules = try run(URL(fileURLWithPath: "/usr/bin/modutil"), ["-dbdir", "sql:" + database, "-list"])
        #expect(modules.stdout.contains("Paraphe"), "\(modules.stdout)\(modules.stderr)")

        try tmux.keys("Enter")
        let after = try tmux.waitFor("STTY-DONE")
        #expect(after.contains("EXIT:0"))
        #expect(after.contains("icanon") && !after.contains("-icanon") && !after.contains("-echo"), "terminal restored: \(after)")
        // Issue 10.13: the summary stays in the terminal once the full screen is gone.
        #expect(
            after.contains("Your digital signature is activated.") && after.contains("Jeanne_Tremblay.p12")
                && after.contains("SHA-256:"), "\(after)")
        // (The terminal wraps the long line at 80 columns.)
        #expect(
            after.replacingOccurrences(of: "\n", with: "").contains(
                "pdfsig -add-signature -nssdir sql:\(database) -nick \"Jeanne_Tremblay:Jeanne Tremblay\""),
            "\(after)")

        let profile = scratch.dataDir + "/profiles/Jeanne_Tremblay.p12"
        let password = try scratch.file("pw", applicant.password)
        let info = try openssl(["pkcs12", "-info", "-in", profile, "-noout", "-passin", "file:\(password)"])
        #expect(info.status == 0)
        if deployment == .networked {
            // The kiosk keeps no authority secret: no registry, no CA key, no sealing key.
            let files = FileManager.default.enumerator(atPath: scratch.dataDir)?.compactMap { $0 as? String } ?? []
            #expect(
                !files.contains { $0.hasSuffix(".sqlite") || $0.hasSuffix("ca-key.pem") || $0.hasSuffix("authority.key") || $0.hasPrefix("mail") },
                "\(files)")
            #expect(files.contains("trust/paraphe-ca.pem"))
        }
    }

    @Test func languageSwitchResizeEscAndSigterm() throws {
        let scratch = try Scratch()
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let tmux = try TmuxSession(try wizardCommand(scratch, "--lang en"))
        try tmux.waitFor("Step 1 of 5")
        try tmux.type(link)

        // F2: French at once, the typed link kept.
        try tmux.keys("F2")
        let french = try tmux.waitFor("Étape 1 de 5 — Courriel d’approbation")
        #expect(french.contains(String(link.suffix(19))))
        #expect(french.contains("F2 English"))
        try tmux.keys("F2")
        try tmux.waitFor("Step 1 of 5")

        // Too small, then back: the notice comes and goes, the input survives.
        try tmux.resize(width: 70, height: 20)
        try tmux.waitFor("too small")
        try tmux.resize(width: 80, height: 24)
        let restored = try tmux.waitFor("Step 1 of 5")
        #expect(restored.contains(String(link.suffix(19))))

        // F1 help, Esc closes it; on to step 2 and Esc back to step 1.
        try tmux.keys("F1")
        try tmux.waitFor("Help — Approval email")
        try tmux.keys("Escape")
        try tmux.waitFor("Activation link")
        try tmux.keys("Enter")
        try tmux.waitFor("Step 2 of 5")
        try tmux.keys("Escape")
        try tmux.waitFor("Step 1 of 5")

        // Ctrl-L redraws; typed control sequences never reach the terminal.
        try tmux.keys("C-l")
        try tmux.waitFor("Step 1 of 5")

        // SIGTERM: the program ends and the terminal is restored.
        let pid = try #require(try tmux.childPID(named: "paraphe"))
        kill(pid, SIGTERM)
        let after = try tmux.waitFor("STTY-DONE")
        #expect(after.contains("EXIT:143"))
        #expect(after.contains("icanon") && !after.contains("-icanon") && !after.contains("-echo"), "terminal restored: \(after)")
        #expect(!after.contains("Step 1 of 5"), "the alternate screen was left")
    }
}
