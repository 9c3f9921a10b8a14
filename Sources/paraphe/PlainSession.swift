import Activation
import ArgumentParser
import Authority
import Foundation
import PasswordQuality
import Terminal
import Wizard
import Workstation

/// Plain mode (SPEC §3): the same headless wizard as the full screen, as line-by-line prompts that a
/// screen reader or a braille display can follow and a script can drive.
///
/// It is a second front end, not a second wizard: every answer goes into the wizard's state as the
/// events a keyboard would send (`.focus`, `.text`, `.key(.enter)`), the effects run on the same
/// `EffectRunner`, and what is printed comes from the resulting state and the same string tables.
struct PlainSession: Sendable {
    let authority: any Authority
    let paths: WorkstationPaths
    let language: Language
    let languageChosen: Bool
    let link: String?

    /// Runs the prompts to the end; a status other than 0 is thrown as an `ExitCode`.
    func run() async throws {
        let inbox = Inbox()
        let runner = EffectRunner(authority: authority, paths: paths, cost: kdfCost(), inbox: inbox)
        let environment = WizardEnvironment(passwordPolicy: PasswordPolicy(checker: PWQualityChecker()))
        let state = WizardState(language: language, languageChosen: languageChosen)
        let link = self.link
        // Reading standard input blocks: the prompts run on their own thread, the effects as tasks.
        let status: Int32 = await withCheckedContinuation { continuation in
            let thread = Thread {
                let status = LineConsole.withConsole { console in
                    PlainFrontEnd(state: state, console: console, runner: runner, inbox: inbox, environment: environment).run(link: link)
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

/// The prompts themselves: reads lines, turns them into wizard events, prints what the state says.
private final class PlainFrontEnd {
    private var state: WizardState
    private let console: LineConsole
    private let runner: EffectRunner
    private let inbox: Inbox
    private let environment: WizardEnvironment

    /// The last step announced (a heading line).
    private var announced: WizardStep?
    /// The component reports last printed.
    private var printedComponents: [ComponentReport] = []
    /// The work last announced ("Checking your answers…").
    private var announcedWork: Work?
    /// Whether the notice of the last submission is already printed (under a step passed straight over).
    private var noticePrinted = false
    /// Step 5: which entries the last refusal was about.
    private var reaskReference = false
    private var reaskPassword = false
    private var passwordRulesShown = false
    /// Rounds of the loop since a line was last read: a guard against a state that asks nothing.
    private var roundsWithoutInput = 0

    init(state: WizardState, console: LineConsole, runner: EffectRunner, inbox: Inbox, environment: WizardEnvironment) {
        self.state = state
        self.console = console
        self.runner = runner
        self.inbox = inbox
        self.environment = environment
    }

    private var text: Localizer { Localizer(state.language) }
    /// Between the items of a list on one line (French puts a space before the semicolon).
    private var listSeparator: String { state.language == .fr ? " ; " : "; " }

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
                printError("paraphe: " + text.text("plain.endOfInputAfterProfile", ["path": profile.path]))
            } else {
                printError("paraphe: " + text.text("plain.endOfInput"))
            }
            return Exit.noInput
        }
    }

    private func drive(link: String?) throws {
        report()
        if let link {
            fill(.link, InputText.clean(link, limit: FieldID.link.limit).text)
            try submit(.field(.link))
        }
        while true {
            roundsWithoutInput += 1
            if roundsWithoutInput > 20 {
                // Defensive: the state asks for nothing and nothing moves (never seen; better than spinning).
                printError("paraphe: " + text.text("cli.error.unexpected"))
                throw PlainStop.status(Exit.software)
            }
            switch state.step {
            case .link:
                fill(.link, try ask("plain.prompt.link", field: .link))
                try submit(.field(.link))
            case .identity:
                try identity()
            case .components:
                try components()
            case .renewal:
                try renewal()
            case .activation:
                switch state.activationStage {
                case .form:
                    try activationForm()
                case .login:
                    fill(.loginPassword, try ask("plain.prompt.login", field: .loginPassword))
                    try submit(.field(.loginPassword))
                case .summary:
                    printSummary()
                    return
                }
            }
        }
    }

    // MARK: - The steps

    private func identity() throws {
        if state.dead { throw PlainStop.status(Exit.refused) }
        let questions = state.overview?.questions ?? []
        for (index, id) in FieldID.answers.enumerated() {
            let number = String(index + 1)
            let question = index < questions.count ? questions[index] : ""
            say(text.text("plain.question", ["n": number, "question": question]))
            fill(id, try ask("plain.prompt.answer", ["n": number], field: id))
        }
        try submit(.field(.answer1))
    }

    private func components() throws {
        let reports = state.components
        if reports.allInstalled {
            try submit(.button(.next))
        } else if reports.isEmpty {
            try submit(.button(.recheck))
        } else if reports.contains(where: { !$0.status.isInstalled && !$0.installable }) {
            // The reason and what to do are printed above: nothing here can fix it.
            throw PlainStop.status(Exit.unavailable)
        } else if try confirm("plain.prompt.install") {
            try submit(.button(.install))
        } else {
            say(text.text("plain.declined.install"))
            throw PlainStop.status(Exit.unavailable)
        }
    }

    private func renewal() throws {
        guard let identity = state.identity else { throw PlainStop.status(Exit.software) }
        guard identity.renewalNeeded else {
            try submit(.button(.next))
            return
        }
        // The screen says why in its body (the message line stays empty); plain mode says it as an error line.
        if let reason = identity.renewalReason { say(Notice.error(reason)) }
        say(text.text("renewal.explain"))
        guard try confirm("plain.prompt.renew") else {
            say(text.text("plain.declined.renew"))
            throw PlainStop.status(Exit.refused)
        }
        try submit(.button(.renew))
        if state.identity?.renewalNeeded ?? true {
            // Refused (at most 3 renewals in 24 hours) or failed: the message above says when to retry.
            say(text.text("plain.cannotGoOn"))
            throw PlainStop.status(Exit.refused)
        }
    }

    private func activationForm() throws {
        if state.dead { throw PlainStop.status(Exit.refused) }
        let askReference = reaskReference || state.field(.reference).text.isEmpty
        let askPassword = reaskPassword || state.field(.password).text.isEmpty || !(state.passwordCheck?.isAcceptable ?? false)
        if askReference {
            fill(.reference, try ask("plain.prompt.reference", field: .reference))
        }
        if askPassword {
            if !passwordRulesShown {
                let rules = PasswordRule.allCases.filter { $0 != .maximumLength }.map { text.text($0.messageKey) }
                say(text.text("plain.passwordRules", ["rules": rules.joined(separator: listSeparator)]))
                passwordRulesShown = true
            }
            fill(.password, try ask("plain.prompt.password", field: .password))
            fill(.confirmation, try ask("plain.prompt.confirmation", field: .confirmation))
        }
        try submit(.field(.reference))
        if state.step == .activation, state.activationStage == .form, !state.dead {
            // The wizard puts focus on the entry it refused.
            reaskPassword = state.focus == .field(.password) || state.focus == .field(.confirmation)
            reaskReference = !reaskPassword
        } else {
            reaskReference = false
            reaskPassword = false
        }
    }

    private func printSummary() {
        guard let summary = state.summary else { return }
        say(text.text("summary.title"))
        func line(_ key: String, _ value: String) {
            say(text.text(key).trimmingCharacters(in: .whitespaces) + " " + value)
        }
        line("summary.subject", summary.subject)
        if let email = summary.email { line("summary.email", email) }
        line("summary.serial", summary.serialHex)
        line("summary.fingerprint", summary.sha256Fingerprint)
        line("summary.validity", text.dateTime(summary.notBefore) + " → " + text.dateTime(summary.notAfter))
        if let profile = summary.profileFile { line("summary.profile", profile.path) }
        if let certificate = summary.certificateFile { line("summary.certificate", certificate.path) }
    }

    // MARK: - Driving the wizard

    /// Applies an event and starts the effects it asks for.
    private func send(_ event: WizardEvent) {
        for effect in reduce(&state, event, environment) {
            switch effect {
            case .quit, .redraw: break
            default: runner.start(effect)
            }
        }
        // A step reached is announced before the work it starts ("Step 3 of 5", then "Checking…").
        report()
        announceWork()
    }

    /// Puts `value` in a field, as typing it there would.
    private func fill(_ id: FieldID, _ value: String) {
        send(.focus(.field(id)))
        send(.key(.control("u")))
        send(.text(value))
    }

    /// Presses Enter on `control`, waits for the work it starts, and prints what changed.
    private func submit(_ control: Control) throws {
        noticePrinted = false
        send(.focus(control))
        send(.key(.enter))
        try settle()
        // The summary's own title says it all; any other outcome is printed as a line.
        let done = state.step == .activation && state.activationStage == .summary
        if !noticePrinted, !done, let notice = state.notice { say(notice) }
    }

    /// Waits until no work is in flight, feeding each result back to the wizard.
    private func settle() throws {
        while state.work != nil {
            if let signal = console.pendingTermination { throw PlainStop.interrupted(signal: signal) }
            let events = inbox.drain()
            if events.isEmpty {
                usleep(10_000)
                continue
            }
            for event in events { send(event) }
        }
    }

    // MARK: - Output

    /// One line of output; control characters (from the authority's texts, paths…) become `?`.
    private func say(_ line: String) {
        console.write(InputText.printable(line, limit: 4_000) + "\n")
    }

    private func announceWork() {
        guard state.work != announcedWork else { return }
        announcedWork = state.work
        if let work = state.work { say(text.text(work.messageKey)) }
    }

    /// Headings of the steps reached, their introductions, and new component reports (only what is new).
    private func report() {
        if announced != state.step {
            if let previous = announced, previous < .renewal, state.step == .activation {
                // Step 4 passes straight on when the codes are valid: it still says until when.
                heading(.renewal)
                if let notice = state.notice { say(notice) }
                noticePrinted = true
            }
            heading(state.step)
            announced = state.step
            switch state.step {
            case .link: say(text.text("link.intro"))
            case .identity:
                let remaining = state.overview?.identityAttemptsRemaining ?? ActivationPolicy.identityAttempts
                say(text.text("identity.intro", ["remaining": String(remaining)]))
            case .components: say(text.text("components.intro"))
            case .renewal: break
            case .activation: say(text.text("activation.intro"))
            }
        }
        if state.step == .components, !state.components.isEmpty, state.components != printedComponents {
            printedComponents = state.components
            for report in state.components { say(componentLine(report)) }
        }
    }

    private func heading(_ step: WizardStep) {
        say(text.text("step.heading", ["n": String(step.rawValue), "title": text.text(step.titleKey)]))
    }

    private func componentLine(_ report: ComponentReport) -> String {
        let (status, detail): (String, String) = switch report.status {
        case .installed(let version): ("components.installed", version)
        case .missing(let reason): ("components.missing", text.text(reason))
        case .failed(let reason, let detail): ("components.failed", text.text(reason, ["detail": detail]))
        }
        return text.text("plain.component", ["name": text.text(report.kind.nameKey), "status": text.text(status), "detail": detail])
    }

    /// A notice as a line; the few that speak of the screen's buttons or lists get plain wording.
    private func say(_ notice: Notice) {
        if case .text(let key, _) = notice.content {
            switch key {
            case "notice.componentsInstall":
                return  // the confirmation prompt comes next
            case "notice.componentsReady":
                say(text.text("plain.componentsReady"))
                return
            case "notice.passwordNotReady":
                let unmet = (state.passwordCheck?.unmet ?? []).map { text.text($0.messageKey) }
                say(text.text("plain.error", ["text": text.text("plain.passwordUnmet", ["rules": unmet.joined(separator: listSeparator)])]))
                return
            default:
                break
            }
        }
        let body = notice.text(in: state.language)
        say(notice.tone == .error ? text.text("plain.error", ["text": body]) : body)
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
            roundsWithoutInput = 0
            return line
        } catch .endOfInput {
            throw PlainStop.endOfInput
        } catch .interrupted(let signal) {
            throw PlainStop.interrupted(signal: signal)
        }
    }

    /// Asks for a field's text until a usable line comes: a blank line asks again; a line that is
    /// not UTF-8, holds control characters or is too long is refused with the reason.
    private func ask(_ key: String, _ arguments: [String: String] = [:], field id: FieldID) throws -> String {
        let field = inputField(id)
        let secret = id.isPassword || id.isAnswer
        while true {
            prompt(text.text(key, arguments))
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

    /// A yes/no question; a blank line means yes.
    private func confirm(_ key: String) throws -> Bool {
        while true {
            prompt(text.text(key))
            let answer = String(decoding: try readLine(secret: false), as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
            if ["", "y", "yes", "o", "oui"].contains(answer) { return true }
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
        }
    }
}
