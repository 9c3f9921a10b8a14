import Activation
import ArgumentParser
import AuthorityInterface
import Foundation
import OperatorCommands
import PasswordQuality
import ScreenModel
import Synchronization
import Terminal
import Wizard
import WizardRendering
import WizardRuntime
import Workstation

struct WizardCommand: ProgramCommand {
    static let configuration = CommandConfiguration(
        commandName: "wizard",
        abstract: "The full-screen activation wizard (the default command).",
        discussion: """
            Keys: Tab/Shift-Tab or ↑/↓ move, Enter submits, Esc goes back, F1 help, F2 English/French, Ctrl-L redraws, F10 quits.

            Kiosk mode (--kiosk): F10, Ctrl-C, Ctrl-Z and Ctrl-\\ do nothing and only SIGTERM/SIGHUP end the program; after \
            --idle-timeout seconds without a key (a countdown warns during the last 30) and 20 seconds after a finished \
            activation, everything is wiped and step 1 shows. With --profile-dir, that folder must exist and be writable.

            Plain mode (--plain, or automatically when standard input or output is not a terminal, or TERM=dumb): \
            line-by-line prompts for screen readers and scripts. Exit statuses: 0 activated, 66 input ended before the end, \
            69 a required component is unavailable, 77 the application cannot go on (locked, activated, revoked, codes not renewed).
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var authorityOptions: AuthorityOptions
    @Option(help: "Language of the screens: en or fr (default: the application's, else $LANG).") var lang: Language?
    @Flag(help: "Kiosk mode: no way out to a shell, idle reset, profiles to --profile-dir.") var kiosk = false
    @Option(name: .customLong("idle-timeout"), help: "Kiosk idle timeout in seconds (default 120).") var idleTimeout: Int?
    @Option(name: .customLong("profile-dir"), help: "Where to write the profile (default: DATA_DIR/profiles).") var profileDir: String?
    @Flag(help: "Line-by-line prompts for screen readers and scripts (automatic when not on a terminal or TERM=dumb).") var plain = false
    @Argument(help: "The activation link (fills step 1).") var link: String?

    func validate() throws {
        if let idleTimeout, !WizardState.idleTimeoutRange.contains(idleTimeout) {
            let range = WizardState.idleTimeoutRange
            throw ValidationError("--idle-timeout must be between \(range.lowerBound) and \(range.upperBound) seconds.")
        }
    }

    func run(in program: ProgramContext) async throws {
        var language = defaultLanguage(lang)
        var resolved: (setup: WorkstationSetup, data: DataOptions)?
        try await runReportingErrors(
            language: language, program: program, customerService: { resolved.flatMap { $0.setup.knownCustomerService($0.data) } }
        ) {
            var data = self.data
            let setup = try WorkstationSetup.resolve(authorityOptions, data: &data, language: language, program: program)
            let configuration = setup.configuration
            resolved = (setup, data)
            if lang == nil, let configured = configuration.language { language = configured }
            let kiosk = self.kiosk || (configuration.kiosk ?? false)
            let profileDir = self.profileDir ?? configuration.profileDirectory
            if kiosk, let endpoint = setup.endpoint, endpoint.fingerprint == nil {
                throw CLIError(status: ExitStatus.usage, message: Localizer(language).text("cli.error.kioskNeedsFingerprint"))
            }
            // Opened on its own thread while the terminal starts and draws step 1 (it reads the registry
            // and the CA); the first event waits for it, and a failure to open ends the session with its message.
            let authority = PendingAuthority { [data] in try setup.authority(data) }
            let paths = WorkstationPaths(dataDirectory: data.dataDirectory, profileDirectory: profileDir.map(URL.init(fileURLWithPath:)))
            var session = WizardSession(
                authority: authority, paths: paths, language: language, languageChosen: lang != nil || configuration.language != nil, kiosk: kiosk,
                link: link, demo: nil
            )
            session.idleTimeout = TimeInterval(idleTimeout ?? configuration.idleTimeout ?? 120)
            // A kiosk's --profile-dir is a fixed destination (e.g. removable media): never created, never replaced.
            session.fixedProfileDirectory = kiosk && profileDir != nil
            session.plain = plain
            session.updateWindow = setup.updateWindow
            session.localCustomerService = configuration.customerService
            try await session.run(in: program)
        }
    }
}

/// What `paraphe demo` adds to the wizard's effects.
enum DemoMail {
    /// After a renewal, the new reference number from the code email it delivered.
    @Sendable static func newReference(after event: WizardEvent) -> WizardEvent? {
        guard case .renewed(.success(let receipt)) = event, let mail = receipt.mailFile,
            let text = try? String(contentsOf: mail, encoding: .utf8)
        else { return nil }
        for line in text.split(separator: "\n") {
            for label in ["Reference number:", "Numéro de référence :"] where line.hasPrefix(label) {
                return .demoReference(line.dropFirst(label.count).trimmingCharacters(in: .whitespaces))
            }
        }
        return nil
    }
}

/// One run of the full-screen wizard: the terminal loop on its own thread, effects as tasks.
struct WizardSession: Sendable {
    let authority: PendingAuthority
    let paths: WorkstationPaths
    let language: Language
    let languageChosen: Bool
    let kiosk: Bool
    let link: String?
    let demo: DemoHints?
    /// Kiosk mode: seconds without a key before everything is wiped.
    var idleTimeout: TimeInterval = WizardState.defaultIdleTimeout
    /// Kiosk `--profile-dir`: never created, never replaced by another folder.
    var fixedProfileDirectory = false
    /// `--plain` asked for line-by-line prompts.
    var plain = false
    /// How long before expiry the log-in offers to update the profile.
    var updateWindow = WorkstationSetup.defaultUpdateWindow
    /// The configuration's local help desk, named instead of the authority's customer service.
    var localCustomerService: CustomerService?

    /// Plain mode is used when asked for, and when there is no terminal to draw on: standard input
    /// or output is not a terminal, or `TERM` is `dumb` (or unset).
    var usesPlainMode: Bool {
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        return plain || term.isEmpty || term == "dumb" || !TerminalSession.isInteractive
    }

    func run(in program: ProgramContext) async throws {
        if usesPlainMode {
            // A kiosk must have no way out; line-by-line prompts cannot promise that.
            if kiosk { throw CLIError(status: ExitStatus.usage, message: Localizer(language).text("cli.error.kioskNeedsTerminal")) }
            let plainSession = PlainSession(
                service: activationService(
                    authority: try authority.wait(), paths: paths, program: program, updateWindow: updateWindow,
                    localCustomerService: localCustomerService),
                language: language, languageChosen: languageChosen, initialEvents: initialEvents, provider: provider,
                clock: program.hooks.clock)
            try await plainSession.run()
            return
        }
        let environment = WizardEnvironment(passwordPolicy: PasswordPolicy(checker: PWQualityChecker()))
        let monochrome = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        let session = self
        let outcome: LoopOutcome = try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    let outcome = try TerminalSession.withSession(TerminalOptions(monochrome: monochrome)) { terminal in
                        var initial = session.initialState(terminal.size)
                        terminal.draw(render(initial), force: false)
                        let service = activationService(
                            authority: try session.authority.wait(), paths: session.paths, fixedProfileDirectory: session.fixedProfileDirectory,
                            program: program, updateWindow: session.updateWindow, localCustomerService: session.localCustomerService)
                        initial.customerService = service.knownCustomerService()
                        let runner = EffectRunner(
                            service: service, provider: session.provider, followUp: session.demo == nil ? nil : DemoMail.newReference)
                        let loop = ProgramLoop(state: initial, environment: environment, runner: runner, clock: program.hooks.clock)
                        let end = loop.run(ScreenFrontEnd(terminal), initial: session.initialEvents)
                        return session.outcome(end, loop.state)
                    }
                    if case .signal(let status) = outcome {
                        // Ended by SIGTERM/SIGHUP: the terminal is restored and no activation is half-way
                        // (the loop waited for it); leave at once from this thread.
                        _exit(status)
                    }
                    continuation.resume(returning: outcome)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        if case .quitBeforeLogIn(let profile) = outcome {
            // The person quit once the profile was written, before logging in to it: say where it is and
            // how to finish, now that the terminal shows the shell again.
            printError(Localizer(language).text("cli.quitBeforeLogin", ["path": profile.path, "command": resumeCommand()]))
        }
        if case .finished(let summary, let shown) = outcome {
            // The alternate screen took the summary away: the person keeps where their files are.
            print(summaryText(summary, language: shown))
        }
    }

    /// The command that starts this wizard again on the same data (to log in to a profile later).
    private func resumeCommand() -> String {
        ["paraphe", "--data-dir", shellQuoted(paths.dataDirectory.path), "LINK"].joined(separator: " ")
    }

    private func initialState(_ size: (width: Int, height: Int)) -> WizardState {
        var state = WizardState(
            language: language, languageChosen: languageChosen, width: size.width, height: size.height, kiosk: kiosk,
            idleTimeout: idleTimeout)
        state.offerProvider = provider != nil
        state.demo = demo
        state.commandOptions = paths.commandOptions
        return state
    }

    /// The link given on the command line, typed into step 1 and submitted (the demo leaves Enter to the person).
    var initialEvents: [WizardEvent] {
        guard let link else { return [] }
        let typed: [WizardEvent] = [.focus(.field(.link)), .text(InputText.clean(link, limit: FieldID.link.limit).text)]
        return demo == nil ? typed + [.key(.enter)] : typed
    }

    /// Where the log-in screen registers the profile for the workstation's applications: never on a kiosk (the
    /// profile leaves with the person), and only where the security provider is installed.
    var provider: ProviderRegistration? {
        kiosk ? nil : try? ProviderRegistration.forCurrentUser()
    }

    /// How the loop ended.
    enum LoopOutcome: Sendable {
        case quit
        /// Quit after the profile was written and before logging in to it.
        case quitBeforeLogIn(URL)
        /// Finished (outside kiosk mode): the summary, in the language on the screen.
        case finished(ActivationSummary, Language)
        /// SIGTERM/SIGHUP (or the terminal hung up): exit with this status.
        case signal(Int32)
    }

    /// What the program does once the loop ended.
    private func outcome(_ end: LoopEnd, _ state: WizardState) -> LoopOutcome {
        switch end {
        case .wizard(.signal(let signal)): return .signal(128 + signal.rawValue)
        // The terminal went away: end as SIGHUP would.
        case .wizard(.inputEnded): return .signal(128 + ProgramSignal.hangUp.rawValue)
        case .wizard(.quit), .frontEnd:
            if let profile = state.profileFile, state.summary == nil { return .quitBeforeLogIn(profile) }
            if let summary = state.summary, !kiosk { return .finished(summary, state.language) }
            return .quit
        }
    }
}

/// The full screen as the loop's front end: draws each state, and turns keys, pastes, resizes and signals into events.
final class ScreenFrontEnd: FrontEnd {
    private let terminal: TerminalSession

    init(_ terminal: TerminalSession) { self.terminal = terminal }

    func show(_ state: WizardState, repaint: Bool) {
        terminal.draw(render(state), force: repaint)
    }

    func next(_ state: WizardState, wake: Int32, timeout: Duration?) -> FrontEndInput {
        let milliseconds = timeout.map { Int32(clamping: Int(($0 / .milliseconds(1)).rounded(.up))) } ?? -1
        switch terminal.nextInput(wake: wake, timeoutMilliseconds: milliseconds) {
        case .key(let key): return .events([.key(key)])
        case .paste(let text): return .events([.pasted(text)])
        case .invalidText: return .events([.invalidText])
        case .resize(let width, let height): return .events([.resized(width: width, height: height)])
        case .timeout: return .timedOut
        case .ignored, .wake: return .events([])
        case .endOfInput: return .events([.inputEnded])
        case .signal(let number): return .events(ProgramSignal(rawValue: number).map { [.signal($0)] } ?? [])
        }
    }
}

/// The authority, opened on a thread of its own so that the first screen does not wait for the
/// registry and the CA to be read; `wait()` gives it (or the error that stopped it) once it is there.
final class PendingAuthority: Sendable {
    private let result = Mutex<Result<any Authority, any Error>?>(nil)
    private let opened = DispatchSemaphore(value: 0)

    /// Starts opening the authority with `open` now.
    init(_ open: @escaping @Sendable () throws -> any Authority) {
        Thread { [self] in
            let outcome = Result { try open() }
            self.result.withLock { $0 = outcome }
            self.opened.signal()
        }.start()
    }

    /// An authority that is already open.
    init(_ authority: any Authority) {
        result.withLock { $0 = .success(authority) }
        opened.signal()
    }

    /// The authority, once opened; throws what opening it threw.
    func wait() throws -> any Authority {
        opened.wait()
        opened.signal()  // later calls return at once
        guard let outcome = result.withLock({ $0 }) else { throw CLIError(status: ExitStatus.software, message: "internal: no authority") }
        return try outcome.get()
    }
}
