import Foundation
import Testing

/// A program whose standard input the test writes line by line while reading its output, for
/// runs whose next line depends on what happened (the reference number of a renewal email).
final class InteractiveRun: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private let done = DispatchGroup()

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = try parapheExecutable()
        process.arguments = arguments
        process.environment = childEnvironment(environment)
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = input
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        for (pipe, isError) in [(stdout, false), (stderr, true)] {
            let handle = pipe.fileHandleForReading
            done.enter()
            DispatchQueue.global().async {
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    self.lock.withLock { if isError { self.err.append(chunk) } else { self.out.append(chunk) } }
                }
                self.done.leave()
            }
        }
    }

    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }

    /// Sends one line.
    func line(_ text: String) throws {
        try input.fileHandleForWriting.write(contentsOf: Data((text + "\n").utf8))
    }

    /// Polls the output until it contains `text` (no fixed sleeps).
    @discardableResult
    func waitFor(_ text: String, timeout: TimeInterval = 60) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let output = stdout
            if output.contains(text) { return output }
            if !process.isRunning, !stdout.contains(text) { break }
            usleep(20_000)
        }
        Issue.record("timed out waiting for \"\(text)\"; the output was:\n\(stdout)")
        throw HarnessError.missing(text)
    }

    /// Closes standard input and waits for the end.
    func finish() throws -> RunResult {
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        done.wait()
        return lock.withLock {
            RunResult(
                status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self),
                stdoutBytes: Array(out), stderrBytes: Array(err))
        }
    }
}

/// Plain mode: the wizard as line-by-line prompts, driven through standard input.
@Suite struct PlainModeTests {
    let applicant = Applicant()

    /// The lines a person (or a script) types for a whole activation with valid codes.
    func wholeActivation(link: String, reference: String) -> [String] {
        [link] + applicant.answers + ["", reference, applicant.password, applicant.password, applicant.password]
    }

    func input(_ lines: [String]) -> [UInt8] { Array((lines.joined(separator: "\n") + "\n").utf8) }

    func expectNoEscapeByte(_ result: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!result.stdoutBytes.contains(0x1B) && !result.stderrBytes.contains(0x1B), "no escape sequences", sourceLocation: sourceLocation)
        #expect(!result.stdoutBytes.contains(0x9B), "no C1 CSI either", sourceLocation: sourceLocation)
    }

    func expectNoSecrets(_ result: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
        for secret in [applicant.password, "Misérables", "Montréal"] {
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret), "\(secret) printed", sourceLocation: sourceLocation)
        }
    }

    @Test func aWholeActivationPipedThroughStandardInput() throws {
        let scratch = try Scratch()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        // A blank line and a wrong link first: asked again, with the reason.
        let lines = ["", "https://activation.paraphe.example/activate/7K2M-Q9XD"] + wholeActivation(link: link, reference: reference)
        // Standard input is a pipe: plain mode without --plain.
        let result = try paraphe(["wizard", "--data-dir", scratch.dataDir, "--lang", "en"], stdin: input(lines))
        #expect(result.status == 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
        expectNoEscapeByte(result)
        expectNoSecrets(result)
        let out = result.stdout

        // Each step announces itself on its own line, in order; the prompts come in the documented order.
        let landmarks = [
            "Step 1 of 5 — Approval email\n", "Activation link:\n", "Error: That is not an activation link.",
            "Step 2 of 5 — Security questions\n", "Question 1 of 3: In what city were you born?\n", "Answer 1:\n",
            "Question 3 of 3: What is your favourite book?\n", "Answer 3:\n",
            "Step 3 of 5 — Required software\n", "Activation manager: Missing", "Install the activation manager now? [Y/n]\n",
            "Every required component is installed.\n",
            "Step 4 of 5 — Renewal of activation codes\n", "no renewal needed",
            "Step 5 of 5 — Activation of the digital certificate\n", "Reference number (from the newest email):\n",
            "Password:\n", "Password again:\n", "Password to log in to your new profile:\n",
            "Your digital signature is activated.\n", "Subject: CN=Jeanne Tremblay\n",
        ]
        var position = out.startIndex
        for landmark in landmarks {
            guard let found = out.range(of: landmark, range: position..<out.endIndex) else {
                Issue.record("\"\(landmark)\" missing or out of order in:\n\(out)")
                break
            }
            position = found.upperBound
        }
        // The blank line only asked again (the link prompt shows three times: blank, wrong, right).
        #expect(out.components(separatedBy: "Activation link:\n").count - 1 == 3)

        // The same summary as the screen: subject, serial, SHA-256 fingerprint, validity, file paths.
        let profile = scratch.dataDir + "/profiles/Jeanne_Tremblay.p12"
        #expect(out.contains("Serial number: "))
        #expect(out.range(of: #"SHA-256: ([0-9A-F]{2}:){31}[0-9A-F]{2}\n"#, options: .regularExpression) != nil)
        #expect(out.range(of: #"Valid: \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC → \d{4}-"#, options: .regularExpression) != nil)
        #expect(out.contains("Profile: \(profile)\n"))
        #expect(out.contains("Certificate file: \(scratch.dataDir)/profiles/Jeanne_Tremblay.pem\n"))

        // The profile is real: OpenSSL opens it with the password.
        let password = try scratch.file("pw", applicant.password)
        #expect(try openssl(["pkcs12", "-info", "-in", profile, "-noout", "-passin", "file:\(password)"]).status == 0)
    }

    @Test func wrongAnswersThenRightOnes() throws {
        let scratch = try Scratch()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let lines =
            [link, "Paris", "Fido", "Dune"] + ["montreal", "  REX ", "Dune"]
            + ["", reference, applicant.password, applicant.password, applicant.password]
        let result = try paraphe(["wizard", "--plain", "--data-dir", scratch.dataDir, "--lang", "en"], stdin: input(lines))
        #expect(result.status == 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
        #expect(result.stdout.contains("Error: Your answers did not match. 4 attempts remain.\n"))
        // The questions are asked again after the failed check; which answer was wrong is never said.
        #expect(result.stdout.components(separatedBy: "Question 1 of 3:").count - 1 == 2)
        #expect(!result.stdout.contains("Paris") && !result.stdout.contains("Fido"))
        #expect(result.stdout.contains("Your digital signature is activated."))
        expectNoEscapeByte(result)
        // The attempt is counted by the authority.
        let show = try paraphe(["authority", "show", link, "--data-dir", scratch.dataDir, "--json"])
        #expect(show.stdout.contains("activated"))
    }

    @Test func expiredCodesAreRenewedAndTheNewReferenceComesFromTheNewestEmail() throws {
        let scratch = try Scratch()
        let approvedAt = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-16 * 24 * 3600))
        let link = try applicant.approve(in: scratch, approvedAt: approvedAt)
        let oldReference = try firstReference(scratch)
        let run = try InteractiveRun(["wizard", "--data-dir", scratch.dataDir, "--lang", "en"])
        try run.line(link)
        for answer in applicant.answers { try run.line(answer) }
        try run.waitFor("Install the activation manager now? [Y/n]")
        try run.line("")
        // Step 4: the codes expired; a blank line confirms the renewal.
        try run.waitFor("Step 4 of 5 — Renewal of activation codes")
        try run.waitFor("Renew your activation codes now?")
        try run.line("")
        // The renewal email brings the new reference number, asked for next.
        try run.waitFor("Reference number (from the newest email):")
        let mails = try scratch.mails()
        #expect(mails.count == 2)
        let newest = try #require(mails.last)
        #expect(newest.contains("New activation codes"))
        let reference = try #require(line(after: "Reference number:", in: newest))
        #expect(reference != oldReference)
        for text in [reference, applicant.password, applicant.password, applicant.password] { try run.line(text) }
        let result = try run.finish()
        #expect(result.status == 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
        #expect(result.stdout.contains("Error: Your activation codes expired on "))
        #expect(result.stdout.contains("New codes sent to j•••@example.com."))
        #expect(result.stdout.contains("Your digital signature is activated."))
        #expect(FileManager.default.fileExists(atPath: scratch.dataDir + "/profiles/Jeanne_Tremblay.p12"))
        expectNoEscapeByte(result)
        expectNoSecrets(result)
    }

    @Test func endOfInputMidwayExitsWithoutWritingAProfile() throws {
        let scratch = try Scratch()
        let link = try applicant.approve(in: scratch)
        // The input stops at the reference number.
        let result = try paraphe(["wizard", "--data-dir", scratch.dataDir, "--lang", "en"], stdin: input([link] + applicant.answers + [""]))
        #expect(result.status == 66, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("Input ended before the activation was finished. No profile was written"))
        #expect(result.stdout.hasSuffix("Reference number (from the newest email):\n"))
        let profiles = (try? FileManager.default.contentsOfDirectory(atPath: scratch.dataDir + "/profiles")) ?? []
        #expect(profiles.isEmpty, "\(profiles)")
        expectNoEscapeByte(result)

        // Nothing at all on standard input: the same, at the first prompt.
        let empty = try paraphe(["wizard", "--data-dir", scratch.dataDir], stdin: [])
        #expect(empty.status == 66)
        #expect(empty.stdout.hasSuffix("Activation link:\n"))
    }

    /// Issue 10.4, from the person's side: a mistyped reference number is refused at once, asked
    /// again, and the next lines (the passwords) go to the prompts they were meant for.
    @Test func aMistypedReferenceIsAskedAgainBeforeThePasswords() throws {
        let scratch = try Scratch()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let last = try #require(reference.last?.wholeNumberValue)
        let typo = String(reference.dropLast()) + String((last + 1) % 10)
        let lines = [link] + applicant.answers + ["", typo, reference, applicant.password, applicant.password, applicant.password]
        let result = try paraphe(["wizard", "--data-dir", scratch.dataDir, "--lang", "en"], stdin: input(lines))
        #expect(result.status == 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
        expectNoSecrets(result)
        let out = result.stdout
        let prompt = "Reference number (from the newest email):\n"
        let first = try #require(out.range(of: prompt))
        let typoLine = try #require(out.range(of: "Error: This reference number has a typo", range: first.upperBound..<out.endIndex))
        let again = try #require(out.range(of: prompt, range: typoLine.upperBound..<out.endIndex))
        let password = try #require(out.range(of: "Password:\n", range: again.upperBound..<out.endIndex))
        #expect(out[first.upperBound..<typoLine.lowerBound].contains("Password") == false, "refused before the password prompts")
        #expect(password.lowerBound > again.lowerBound)
        #expect(out.contains("Your digital signature is activated."))
    }

    /// Issue 10.5: every command the program suggests carries the data directory it was run with and
    /// works as printed; commands that only read never create a data directory.
    @Test func suggestedCommandsWorkAsPrintedAndReadingCreatesNothing() throws {
        let scratch = try Scratch()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        // Input ends at the log-in prompt: the profile is written; the message says how to finish.
        let lines = [link] + applicant.answers + ["", reference, applicant.password, applicant.password]
        let ended = try paraphe(["wizard", "--data-dir", scratch.dataDir, "--lang", "en"], stdin: input(lines))
        #expect(ended.status == 66)
        let suggestion = try #require(ended.stderr.range(of: #"paraphe [^\n]*LINK"#, options: .regularExpression).map { String(ended.stderr[$0]) })
        #expect(suggestion.contains("--data-dir \(scratch.dataDir)"), "\(suggestion)")
        // Run it as printed (LINK replaced by the link): it goes straight to the log-in and finishes.
        let words = suggestion.replacingOccurrences(of: "LINK", with: link).split(separator: " ").dropFirst().map(String.init)
        let resumed = try paraphe(words, stdin: input([applicant.password]))
        #expect(resumed.status == 0, "\(words): \(resumed.stderr)")
        #expect(resumed.stdout.contains("Your digital signature is activated."))

        // A component hint carries the data directory too.
        let other = scratch.url.appendingPathComponent("other data").path
        let bare = try paraphe(["components", "--data-dir", other])
        #expect(bare.status == 69)
        #expect(bare.stdout.contains("paraphe components install --data-dir '\(other)'"), "\(bare.stdout)")
        #expect(!FileManager.default.fileExists(atPath: other), "checking created nothing")
        let installed = try paraphe(["components", "install", "--data-dir", other])
        #expect(installed.status == 0, "\(installed.stderr)")

        // Read-only commands on a data directory that does not exist: 66, and nothing is created.
        let nowhere = scratch.url.appendingPathComponent("nowhere").path
        let password = try scratch.file("pw", applicant.password)
        let profile = scratch.dataDir + "/profiles/Jeanne_Tremblay.p12"
        for command in [
            ["profile", "verify", profile, "--password-file", password], ["authority", "list"], ["authority", "show", link],
            ["authority", "audit"],
        ] {
            let result = try paraphe(command + ["--data-dir", nowhere])
            #expect(result.status == 66, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("There is no Paraphe data directory at \(nowhere)"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: nowhere), "\(command) created the data directory")
        }
        // …and with the right one, profile verify works.
        let verified = try paraphe(["profile", "verify", profile, "--password-file", password, "--data-dir", scratch.dataDir])
        #expect(verified.status == 0, "\(verified.stderr)")
    }

    @Test func overLongAndControlCharacterLinesAreRefusedWithTheReason() throws {
        let scratch = try Scratch()
        let lines = [String(repeating: "A", count: 600), "7K2M\u{1B}[2J-Q9XD", "\u{FF}"]
        var bytes = Array(lines.joined(separator: "\n").utf8)
        bytes.removeLast(2)  // "\u{FF}" as the invalid UTF-8 byte 0xFF instead
        bytes += [0xFF, 0x0A]
        let result = try paraphe(["wizard", "--plain", "--data-dir", scratch.dataDir, "--lang", "en"], stdin: bytes)
        #expect(result.status == 66)
        #expect(result.stdout.contains("Error: The activation link is too long (at most 512 characters)."))
        #expect(result.stdout.contains("Error: The activation link contains control characters."))
        #expect(result.stdout.contains("Error: The activation link is not valid UTF-8 text."))
        expectNoEscapeByte(result)
    }

    @Test func decliningTheInstallationStopsWithStatus69() throws {
        let scratch = try Scratch()
        let link = try applicant.approve(in: scratch)
        let result = try paraphe(
            ["wizard", "--data-dir", scratch.dataDir, "--lang", "en"], stdin: input([link] + applicant.answers + ["maybe", "n"]))
        #expect(result.status == 69, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("Answer y (yes) or n (no); a blank line means yes."))
        #expect(result.stdout.contains("The activation cannot go on without the activation manager."))
        #expect(!FileManager.default.fileExists(atPath: scratch.dataDir + "/profiles"))
    }

    @Test func frenchPromptsFromTheApplicationsLanguage() throws {
        let scratch = try Scratch()
        var french = applicant
        french.lang = "fr"
        let link = try french.approve(in: scratch)
        let result = try paraphe(["wizard", "--data-dir", scratch.dataDir], stdin: input([link]))
        #expect(result.status == 66)
        #expect(result.stdout.contains("Étape 2 de 5 — Questions de sécurité\n"))
        #expect(result.stdout.contains("Question 1 de 3 : In what city were you born?\nRéponse 1 :\n"))
        #expect(result.stderr.contains("L’entrée s’est terminée avant la fin de l’activation."))
    }

    @Test func kioskModeRefusesToRunWithoutAScreen() throws {
        let scratch = try Scratch()
        let result = try paraphe(["wizard", "--kiosk", "--data-dir", scratch.dataDir, "--lang", "en"], stdin: [])
        #expect(result.status == 64)
        #expect(result.stderr.contains("Kiosk mode needs a full-screen terminal"))
    }

    @Test func inATerminalSecretsAreNotEchoedAndEchoComesBackOnCtrlC() throws {
        let scratch = try Scratch()
        let link = try applicant.approve(in: scratch)
        let binary = try parapheExecutable().path
        // The shell ignores SIGINT (Ctrl-C reaches the whole foreground group), so it lives on to report.
        let command =
            "trap '' INT; cd \(shellQuote(scratch.url.path)) && env LANG=C.UTF-8 \(shellQuote(binary)) wizard --plain --lang en "
            + "--data-dir \(shellQuote(scratch.dataDir)); echo \"EXIT:$?\"; stty -a | tr ' ' '\\n' | grep -E '^-?echo$'; echo STTY-DONE; sleep 600"
        let tmux = try TmuxSession(command)
        try tmux.waitFor("Activation link:")
        // The link is not a secret: it echoes as typed.
        try tmux.type(link)
        try tmux.waitFor(String(link.suffix(19)))
        try tmux.keys("Enter")
        try tmux.waitFor("Answer 1:")
        // An answer does not echo.
        try tmux.type("Montréal")
        try tmux.keys("Enter")
        let screen = try tmux.waitFor("Answer 2:")
        #expect(!screen.contains("Montréal"), "the answer was echoed:\n\(screen)")
        // Ctrl-C at a prompt with echo off: the program ends and echo is back on.
        try tmux.keys("C-c")
        let after = try tmux.waitFor("STTY-DONE")
        #expect(after.contains("EXIT:130"))
        let lines = after.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains("echo") && !lines.contains("-echo"), "echo restored:\n\(after)")
    }
}
