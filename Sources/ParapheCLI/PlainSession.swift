import Activation
import ArgumentParser
import Foundation
import OperatorCommands
import Terminal
import Wizard
import WizardRendering
import WizardRuntime
import Workstation

/// Plain mode (SPEC §3): the same headless wizard as the full screen, as line-by-line prompts that a
/// screen reader or a braille display can follow and a script can drive.
///
/// A thin console driver over the one program loop: what to ask next comes from the wizard
/// (`lineStep`), what to print from plain mode's view (`plainLines`), and every answer goes into the
/// wizard as the events a keyboard would send.
struct PlainSession: Sendable {
    let service: ActivationService
    let language: Language
    let languageChosen: Bool
    let link: String?
    /// Where the log-in registers the profile for the workstation's applications (on by default, as on the screen).
    let provider: ProviderRegistration?

    /// Runs the prompts to the end; a status other than 0 is thrown as an `ExitCode`.
    func run() async throws {
        let environment = WizardEnvironment(passwordPolicy: service.passwordPolicy)
        var initial = WizardState(language: language, languageChosen: languageChosen)
        initial.offerProvider = provider != nil
        let state = initial
        let link = self.link
        let service = self.service
        let provider = self.provider
        // Reading standard input blocks: the prompts run on their own thread, the effects as tasks.
        let status: Int32 = await withCheckedContinuation { continuation in
            let thread = Thread {
                let status = LineConsole.withConsole { console in
                    let loop = ProgramLoop(state: state, environment: environment, runner: EffectRunner(service: service, provider: provider))
                    defer { loop.end() }
                    return PlainFrontEnd(loop: loop, console: console, dataDirectory: service.paths.dataDirectory).run(link: link)
                }
                continuation.resume(returning: status)
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        if status != 0 { throw ExitCode(status) }
    }
}

/// Why the prompts stopped before the summary.
private enum PlainStop: Error {
    /// Stop with this exit status (the reason was already printed).
    case status(Int32)
    case endOfInput
    case interrupted(signal: Int32)
}

/// The console driver: prints what the view says, asks what the wizard asks, waits on the loop's queue.
private final class PlainFrontEnd {
    private let loop: ProgramLoop
    private let console: LineConsole
    private let dataDirectory: URL
    private var transcript = PlainTranscript()
    /// Steps taken without reading a line: a guard against a state that asks nothing.
    private var stepsWithoutInput = 0

    init(loop: ProgramLoop, console: LineConsole, dataDirectory: URL) {
        self.loop = loop
        self.console = console
        self.dataDirectory = dataDirectory
    }

    private var state: WizardState { loop.state }
    private var text: Localizer { Localizer(state.language) }

    /// Runs to the summary (0) or to a stop; returns the exit status.
    func run(link: String?) -> Int32 {
        do {
            try drive(link: link)
            return 0
        } catch PlainStop.status(let status) {
            return status
        } catch PlainStop.interrupted(let signal) {
            return 128 + signal
        } catch {
            // End of input. Nothing is half-written: a profile exists only once activation finished.
            if let profile = state.profileFile {
                let command = ["paraphe", "--plain", "--data-dir", shellQuoted(dataDirectory.path), "LINK"].joined(separator: " ")
                printError("paraphe: " + text.text("cli.quitBeforeLogin", ["path": profile.path, "command": command]))
            } else {
                printError("paraphe: " + text.text("plain.endOfInput"))
            }
            return ExitStatus.noInput
        }
    }

    private func drive(link: String?) throws {
        show()
        if let link {
            send(.text(InputText.clean(link, limit: FieldID.link.limit).text))
            send(.key(.enter))
        }
        while true {
            show()
            stepsWithoutInput += 1
            if stepsWithoutInput > 50 {
                // Defensive: the state asks for nothing and nothing moves (never seen; better than spinning).
                printError("paraphe: " + text.text("cli.error.unexpected"))
                throw PlainStop.status(ExitStatus.software)
            }
            switch lineStep(state) {
            case .wait:
                try waitForWork()
            case .ask(let field, let then):
                let (lines, prompt) = plainPrompt(field, state, transcript: &transcript)
                for line in lines { say(line) }
                let value = try ask(prompt, field: field)
                if state.focus != .field(field) { send(.focus(.field(field))) }
                send(.key(.control("u")))
                send(.text(value))
                if then == .enter { transcript.expectNewNotice() }
                send(.key(then))
            case .confirm(let button, let declined):
                // Trusting an authority is never the default: a blank line asks again.
                if try confirm(plainConfirmation(button, state), blankMeansYes: button != .trustAuthority) {
                    press(button)
                } else {
                    say(plainStopLine(declined: button, state))
                    throw PlainStop.status(status(declined))
                }
            case .press(let button):
                press(button)
            case .done:
                return
            case .stop(let reason):
                if reason == .refused, state.step == .renewal { say(plainStopLine(declined: nil, state)) }
                throw PlainStop.status(status(reason))
            }
        }
    }

    private func status(_ stop: LineStop) -> Int32 {
        stop == .refused ? ExitStatus.refused : ExitStatus.unavailable
    }

    /// Presses a button, as Enter on it would.
    private func press(_ button: ButtonID) {
        transcript.expectNewNotice()
        send(.focus(.button(button)))
        send(.key(.enter))
    }

    /// Applies an event on the loop.
    private func send(_ event: WizardEvent) {
        loop.send(event)
    }

    /// Waits for the work in flight, printing each result.
    ///
    /// A signal that asks to end is obeyed at once, except while a profile is being written: that
    /// finishes first.
    private func waitForWork() throws {
        if let signal = console.wait(for: loop.queue.descriptor, stopOnSignal: !state.isCritical) {
            throw PlainStop.interrupted(signal: signal)
        }
        loop.deliverResults()
        stepsWithoutInput = 0
    }

    // MARK: - Output

    /// Prints what the state adds to the transcript.
    private func show() {
        for line in plainLines(state, after: &transcript) { say(line) }
    }

    /// One line of output; control characters (from the authority's texts, paths…) become `?`.
    private func say(_ line: String) {
        console.write(InputText.printable(line, limit: 4_000) + "\n")
    }

    // MARK: - Input

    /// Writes a prompt: on a terminal the answer is typed on the same line; otherwise the prompt
    /// ends its line, so a transcript stays one line per prompt.
    private func prompt(_ label: String) {
        console.write(InputText.printable(label, limit: 4_000) + (console.inputIsTerminal ? " " : "\n"))
    }

    private func readLine(secret: Bool) throws -> [UInt8] {
        do {
            let line = try console.readLine(secret: secret)
            stepsWithoutInput = 0
            return line
        } catch .endOfInput {
            throw PlainStop.endOfInput
        } catch .interrupted(let signal) {
            throw PlainStop.interrupted(signal: signal)
        }
    }

    /// Asks for a field's text until a usable line comes: a blank line asks again; a line that is
    /// not UTF-8, holds control characters or is too long is refused with the reason.
    private func ask(_ label: String, field id: FieldID) throws -> String {
        let field = inputField(id)
        let secret = id.isPassword || id.isAnswer
        while true {
            prompt(label)
            let bytes = try readLine(secret: secret)
            do {
                let line = try InputText.decode(bytes, field: field)
                if line.allSatisfy(\.isWhitespace) { continue }
                let value = id.isPassword ? line : line.trimmingCharacters(in: .whitespaces)
                if let bad = value.unicodeScalars.first(where: { InputText.isControl($0) || InputText.isBidiControl($0) }) {
                    let problem: InputProblem = InputText.isBidiControl(bad) ? .bidiControls : .controlCharacters
                    throw ActivationError(.invalidInput(field: field, problem: problem))
                }
                if value.count > id.limit { throw ActivationError(.invalidInput(field: field, problem: .tooLong)) }
                return value
            } catch {
                let message = (error as? ActivationError)?.message(in: state.language) ?? text.text("cli.error.unexpected")
                say(text.text("plain.error", ["text": message]))
            }
        }
    }

    /// A yes/no question; a blank line means yes, unless `blankMeansYes` is false (then it asks again).
    private func confirm(_ question: String, blankMeansYes: Bool = true) throws -> Bool {
        while true {
            prompt(question)
            let answer = String(decoding: try readLine(secret: false), as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
            if (blankMeansYes ? ["", "y", "yes", "o", "oui"] : ["y", "yes", "o", "oui"]).contains(answer) { return true }
            if ["n", "no", "non"].contains(answer) { return false }
            say(text.text("plain.yesNo"))
        }
    }

    private func inputField(_ id: FieldID) -> InputField {
        switch id {
        case .link: .link
        case .answer1, .answer2, .answer3: .answer
        case .reference: .reference
        case .password, .confirmation, .loginPassword: .password
        case .recoveryEmail: .email
        }
    }
}
