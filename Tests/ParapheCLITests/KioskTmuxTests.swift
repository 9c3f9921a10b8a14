import Foundation
import Testing

/// Kiosk mode in a real terminal (tmux at 80×24): no way out, idle reset with its countdown, the
/// summary making room for the next person, and the fixed profile folder.
@Suite(.serialized) struct KioskTmuxTests {
    /// A shell line that runs the kiosk, then reports its exit status and the terminal mode.
    func kioskCommand(_ scratch: Scratch, _ extra: String) throws -> String {
        try wizardShellLine(scratch, "--kiosk --lang en \(extra)")
    }

    /// Step 1 → step 2 with a real application.
    func reachQuestions(_ tmux: TmuxSession, link: String) throws {
        try tmux.waitFor("Step 1 of 5 — Approval email")
        try tmux.type(link)
        try tmux.keys("Enter")
        try tmux.waitFor("Step 2 of 5 — Security questions")
    }

    /// The process is alive and not stopped.
    func isRunning(_ pid: Int32) throws -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // "pid (comm) S …": the state letter follows the closing parenthesis.
        guard let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state != "T" && state != "t" && state != "Z"
    }

    @Test func theCountdownWarnsAKeyCancelsItAndTheResetWipesWhatWasTyped() throws {
        let scratch = try Scratch()
        let link = try Applicant().approve(in: scratch)
        let tmux = try TmuxSession(try kioskCommand(scratch, "--idle-timeout 8"))
        try reachQuestions(tmux, link: link)
        try tmux.type("Rex")
        try tmux.waitFor("[ Rex ")

        // 8 s timeout: the countdown shows during the last 4 s (never in the first 4 s after a key).
        try tmux.waitFor("Resetting for the next person in", timeout: 10)
        // Any key cancels it, and does nothing else: the answer stays "Rex".
        try tmux.type("Z")
        let cancelled = try tmux.waitFor("the countdown to go away", timeout: 5) { !$0.contains("Resetting for the next person") }
        #expect(cancelled.contains("[ Rex ") && !cancelled.contains("RexZ"), "the cancelling key typed nothing:\n\(cancelled)")
        #expect(cancelled.contains("Step 2 of 5"))

        // Left alone again: the countdown comes back, then everything is wiped and step 1 shows.
        try tmux.waitFor("Resetting for the next person in", timeout: 10)
        let reset = try tmux.waitFor("Step 1 of 5 — Approval email", timeout: 10)
        #expect(!reset.contains("Rex") && !reset.contains(String(link.suffix(19))), "nothing of the last person is left:\n\(reset)")
        #expect(!reset.contains("Resetting"))
        #expect(!reset.contains("F10"), "the footer offers no way out")
    }

    @Test func noKeyAndNoSignalButSigtermOrSighupEndsIt() throws {
        let scratch = try Scratch()
        let link = try Applicant().approve(in: scratch)
        let tmux = try TmuxSession(try kioskCommand(scratch, ""))
        try reachQuestions(tmux, link: link)
        try tmux.type("Montréal")
        let pid = try #require(try tmux.childPID(named: "paraphe"))

        // F10, Ctrl-C, Ctrl-Z, Ctrl-\: nothing happens; the typed answer is still there.
        for key in ["F10", "C-c", "C-z", "C-\\"] {
            try tmux.keys(key)
            try tmux.keys("End")  // a harmless key after it, to know it was read
        }
        try tmux.type("!")
        let screen = try tmux.waitFor("[ Montréal! ")
        #expect(screen.contains("Step 2 of 5 — Security questions"))
        #expect(try isRunning(pid))

        // Signals from outside that would stop or kill a program: ignored.
        for signal in [SIGINT, SIGTSTP, SIGQUIT] {
            kill(pid, signal)
            usleep(100_000)
            #expect(try isRunning(pid), "signal \(signal) must not stop the kiosk")
        }
        try tmux.type("?")
        try tmux.waitFor("[ Montréal!? ")
        #expect(try !tmux.capture().contains("EXIT:"))

        // SIGHUP (the terminal went away) ends it, and the terminal is restored.
        kill(pid, SIGHUP)
        let after = try tmux.waitFor("STTY-DONE")
        #expect(after.contains("EXIT:129"))
        #expect(after.contains("icanon") && !after.contains("-icanon") && !after.contains("-echo"), "terminal restored: \(after)")
    }

    @Test func sigtermEndsTheKioskAndRestoresTheTerminal() throws {
        let scratch = try Scratch()
        let tmux = try TmuxSession(try kioskCommand(scratch, ""))
        try tmux.waitFor("Step 1 of 5 — Approval email")
        let pid = try #require(try tmux.childPID(named: "paraphe"))
        kill(pid, SIGTERM)
        let after = try tmux.waitFor("STTY-DONE")
        #expect(after.contains("EXIT:143"))
        #expect(after.contains("icanon") && !after.contains("-icanon") && !after.contains("-echo"), "terminal restored: \(after)")
    }

    @Test func aFinishedActivationWritesToTheProfileFolderThenResetsForTheNextPerson() throws {
        let scratch = try Scratch()
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        // A removable medium's folder: exists, writable, and not necessarily 0700.
        let medium = scratch.url.appendingPathComponent("usb")
        try FileManager.default.createDirectory(at: medium, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        let tmux = try TmuxSession(try kioskCommand(scratch, "--idle-timeout 10 --profile-dir \(shellQuote(medium.path))"))

        try reachQuestions(tmux, link: link)
        try tmux.type("Montréal")
        try tmux.keys("Tab")
        try tmux.type("Rex")
        try tmux.keys("Tab")
        try tmux.type("Les Misérables")
        try tmux.keys("Enter")
        try tmux.waitFor("Step 3 of 5 — Required software")
        // The trust store is installed into the data directory; the profile folder is left as it is.
        try tmux.waitFor("Install the activation manager")
        try tmux.keys("Enter")
        try tmux.waitFor("Every required component is installed")
        try tmux.keys("Enter")
        try tmux.waitFor("Step 5 of 5 — Activation of the digital certificate")
        try tmux.type(reference)
        try tmux.keys("Tab")
        try tmux.type(applicant.password)
        try tmux.keys("Tab")
        try tmux.type(applicant.password)
        try tmux.waitFor("✔ Both entries match")
        try tmux.keys("Enter")
        try tmux.waitFor("Log in to it with your password", timeout: 60)
        try tmux.type(applicant.password)
        try tmux.keys("Enter")
        let summary = try tmux.waitFor("Your digital signature is activated.", timeout: 60)
        #expect(summary.contains("CN=Jeanne Tremblay") && summary.contains("usb/"))

        // The profile is on the medium, and nowhere else.
        #expect(FileManager.default.fileExists(atPath: medium.appendingPathComponent("Jeanne_Tremblay.p12").path))
        #expect(FileManager.default.fileExists(atPath: medium.appendingPathComponent("Jeanne_Tremblay.pem").path))
        #expect(!FileManager.default.fileExists(atPath: scratch.dataDir + "/profiles/Jeanne_Tremblay.p12"))

        // No key pressed: the summary counts down, then the next person gets step 1.
        try tmux.waitFor("This screen clears for the next person in", timeout: 10)
        // Nothing of the last person is left once step 1 is drawn (tmux may show a redraw half-way on a loaded
        // machine: wait for the whole screen; a residue that stays fails after the timeout).
        _ = try tmux.waitFor("step 1 with nothing of the last person", timeout: 20) {
            $0.contains("Step 1 of 5 — Approval email") && $0.contains("Activation link") && !$0.contains("Jeanne") && !$0.contains("CN=")
                && !$0.contains("usb/")
        }
        let pid = try #require(try tmux.childPID(named: "paraphe"))
        #expect(try isRunning(pid))
    }

    @Test func aMissingProfileFolderIsReportedAtStep3AndNothingIsCreated() throws {
        let scratch = try Scratch()
        let link = try Applicant().approve(in: scratch)
        let medium = scratch.url.appendingPathComponent("media/usb-not-plugged-in")
        let tmux = try TmuxSession(try kioskCommand(scratch, "--profile-dir \(shellQuote(medium.path))"))
        try reachQuestions(tmux, link: link)
        try tmux.type("Montréal")
        try tmux.keys("Tab")
        try tmux.type("Rex")
        try tmux.keys("Tab")
        try tmux.type("Dune")  // 2 of 3 match
        try tmux.keys("Enter")
        try tmux.waitFor("Step 3 of 5 — Required software")
        let screen = try tmux.waitFor("does not exist")
        // The reason names the folder (a long path wraps: compare without the line breaks).
        let squeezed = screen.filter { !$0.isWhitespace }
        #expect(squeezed.contains(medium.path), "the reason names the folder:\n\(screen)")
        #expect(squeezed.contains("plugintheremovablemedium"))
        #expect(!screen.contains("Install the activation manager"), "nothing is offered that would write elsewhere")

        // Next is refused; checking again changes nothing; nothing was created.
        try tmux.keys("Tab", "Enter")
        try tmux.waitFor("Next is possible once every required component is installed")
        try tmux.keys("BTab", "Enter")
        try tmux.waitFor("plug in the removable")
        #expect(!FileManager.default.fileExists(atPath: medium.path))
        #expect(!FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent("media").path))
        #expect(!FileManager.default.fileExists(atPath: scratch.dataDir + "/profiles"))

        // Plugged in: checking again finds it (and offers to install only the trust store).
        try FileManager.default.createDirectory(at: medium, withIntermediateDirectories: true)
        try tmux.keys("Enter")
        try tmux.waitFor("Install the activation manager")
        try tmux.keys("Enter")
        try tmux.waitFor("Every required component is installed")
    }
}
