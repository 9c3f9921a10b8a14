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
    /// The events the link on the command line makes (typed into step 1 and submitted).
    let initialEvents: [WizardEvent]
    /// Where the log-in registers the profile for the workstation's applications (on by default, as on the screen).
    let provider: ProviderRegistration?
    let clock: any TimeSource

    /// Runs the prompts to the end; a status other than 0 is thrown as an `ExitCode`.
    func run() async throws {
        let environment = WizardEnvironment(passwordPolicy: service.passwordPolicy)
        var initial = WizardState(language: language, languageChosen: languageChosen)
        initial.offerProvider = provider != nil
        initial.commandOptions = service.paths.commandOptions
        initial.customerService = service.knownCustomerService()
        let session = self
        let state = initial
        // Reading standard input blocks: the prompts run on their own thread, the effects as tasks.
        let status: Int32 = await withCheckedContinuation { continuation in
            let thread = Thread {
                let status = LineConsole.withConsole { console in
                    let runner = EffectRunner(service: session.service, provider: session.provider)
                    let loop = ProgramLoop(state: state, environment: environment, runner: runner, clock: session.clock)
                    let front = PlainFrontEnd(console: console)
                    let end = loop.run(front, initial: session.initialEvents)
                    return front.status(end, loop.state, dataDirectory: session.service.paths.dataDirectory)
                }
                continuation.resume(returning: status)
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        if status != 0 { throw ExitCode(status) }
    }
}

/// The console as the loop's front end: prints what plain mode's view says, asks what the wizard asks (`lineStep`),
/// and sends every answer as the events a keyboard would.
private final class PlainFrontEnd: FrontEnd {
    private let console: LineConsole
    private var transcript = PlainTranscript()
    /// Steps taken without reading a line: a guard against a state that asks nothing.
    private var stepsWithoutInput = 0

    init(console: LineConsole) {
        self.console = console
    }

    /// The exit status for how the loop ended: 0 at the summary, else why it stopped (said on standard error).
    func status(_ end: LoopEnd, _ state: WizardState, dataDirectory: URL) -> Int32 {
        switch end {
        case .frontEnd(let status): return status
        case .wizard(.signal(let signal)): return 128 + signal.rawValue
        case .wizard(.quit): return 0
        case .wizard(.inputEnded):
            // Nothing is half-written: a profile exists only once activation finished.
            let text = state.localizer
            if let profile = state.profileFile {
                let command = ["paraphe", "--plain", "--data-dir", shellQuoted(dataDirectory.path), "LINK"].joined(separator: " ")
                printError("paraphe: " + text.text("cli.quitBeforeLogin", ["path": profile.path, "command": command]))
            } else {
                printError("paraphe: " + text.text("plain.endOfInput"))
            }
            return ExitStatus.noInput
        }
    }

    func show(_ state: WizardState, repaint: Bool) {
        for line in plainLines(state, after: &transcript) { say(line) }
    }

    func next(_ state: WizardState, wake: Int32, timeout: Duration?) -> FrontEndInput {
        let text = state.localizer
        stepsWithoutInput += 1
        if stepsWithoutInput > 50 {
            // Defensive: the state asks for nothing and nothing moves (never seen; better than spinning).
            printError("paraphe: " + text.text("cli.error.unexpected"))
            return .stop(status: ExitStatus.software)
        }
        do throws(LineInputError) {
            switch lineStep(state) {
            case .wait:
                if let signal = console.wait(for: wake) { return .events(Self.signal(signal)) }
                stepsWithoutInput = 0
                return .events([])
            case .ask(let field, let then):
                let (lines, prompt) = plainPrompt(field, state, transcript: &transcript)
                for line in lines { say(line) }
                let value = try ask(prompt, field: field, state)
                var events: [WizardEvent] = state.focus == .field(field) ? [] : [.focus(.field(field))]
                events += [.key(.control("u")), .text(value)]
                if then == .enter { transcript.expectNewNotice() }
                return .events(events + [.key(then)])
            case .confirm(let button, let declined):
                // Trusting an authority is never the default: a blank line asks again.
                if try confirm(plainConfirmation(button, state), state, blankMeansYes: button != .trustAuthority) {
                    return .events(press(button))
                }
                say(plainStopLine(declined: button, state))
                return .stop(status: status(declined))
            case .press(let button):
                return .events(press(button))
            case .done:
                return .stop(status: 0)
            case .stop(let reason):
                if reason == .refused, state.step == .renewal { say(plainStopLine(declined: nil, state)) }
                return .stop(status: status(reason))
            }
        } catch {
            switch error {
            case .endOfInput: return .events([.inputEnded])
            case .interrupted(let signal): return .events(Self.signal(signal))
            }
        }
    }

    private static func signal(_ number: Int32) -> [WizardEvent] {
        ProgramSignal(rawValue: number).map { [.signal($0)] } ?? []
    }

    private func status(_ stop: LineStop) -> Int32 {
        stop == .refused ? ExitStatus.refused : ExitStatus.unavailable
    }

    /// Presses a button, as Enter on it would.
    private func press(_ button: ButtonID) -> [WizardEvent] {
        transcript.expectNewNotice()
        return [.focus(.button(button)), .key(.enter)]
    }

    // MARK: - Output

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

    private func readLine(secret: Bool) throws(LineInputError) -> [UInt8] {
        let line = try console.readLine(secret: secret)
        stepsWithoutInput = 0
        return line
    }

    /// Asks for a field's text until a usable line comes: a blank line asks again; a line that is
    /// not UTF-8, holds control characters or is too long is refused with the reason.
    private func ask(_ label: String, field id: FieldID, _ state: WizardState) throws(LineInputError) -> String {
        let field = id.inputField
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
                let message = (error as? ActivationError)?.message(in: state.language) ?? state.localizer.text("cli.error.unexpected")
                say(state.localizer.text("plain.error", ["text": message]))
            }
        }
    }

    /// A yes/no question; a blank line means yes, unless `blankMeansYes` is false (then it asks again).
    private func confirm(_ question: String, _ state: WizardState, blankMeansYes: Bool) throws(LineInputError) -> Bool {
        while true {
            prompt(question)
            let answer = String(decoding: try readLine(secret: false), as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
            if (blankMeansYes ? ["", "y", "yes", "o", "oui"] : ["y", "yes", "o", "oui"]).contains(answer) { return true }
            if ["n", "no", "non"].contains(answer) { return false }
            say(state.localizer.text("plain.yesNo"))
        }
    }
}
