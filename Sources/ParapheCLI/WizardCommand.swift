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
        try await runReportingErrors(language: language, program: program) {
            var data = self.data
            let setup = try WorkstationSetup.resolve(authorityOptions, data: &data, language: language, program: program)
            let configuration = setup.configuration
            if lang == nil, let configured = configuration.language { language = configured }
            let kiosk = self.kiosk || (configuration.kiosk ?? false)
            let profileDir = self.profileDir ?? configuration.profileDirectory
            if kiosk, let endpoint = setup.endpoint, endpoint.fingerprint == nil {
                throw CLIError(status: ExitStatus.usage, message: Localizer(language).text("cli.error.kioskNeedsFingerprint"))
            }
            data.announceCommandOptions(profileDir: profileDir)
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
            try await session.run(in: program)
        }
    }
}

/// Demo hints shown on the screens of `paraphe demo`.
struct DemoHints: Sendable {
    /// The reference number of the newest email in the demo's outbox (after a renewal, the new one).
    func newestReference() -> String? {
        let directory = URL(fileURLWithPath: mailDirectory)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return nil }
        // Maildir names start with the delivery time in seconds, then a per-process counter.
        let newest = names.sorted { $0.localizedStandardCompare($1) == .orderedAscending }.last
        guard let newest, let text = try? String(contentsOf: directory.appendingPathComponent(newest), encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            for label in ["Reference number:", "Numéro de référence :"] where line.hasPrefix(label) {
                return line.dropFirst(label.count).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    var answers: [String]
    var reference: String
    var mailDirectory: String
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
                service: activationService(authority: try authority.wait(), paths: paths, program: program, updateWindow: updateWindow),
                language: language, languageChosen: languageChosen,
                link: link,
                provider: provider
            )
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
                        let initial = session.initialState(terminal.size)
                        if session.demo == nil { terminal.draw(render(initial), force: false) }
                        let service = activationService(
                            authority: try session.authority.wait(), paths: session.paths, fixedProfileDirectory: session.fixedProfileDirectory,
                            program: program, updateWindow: session.updateWindow)
                        let loop = ProgramLoop(
                            state: initial, environment: environment, runner: EffectRunner(service: service, provider: session.provider))
                        defer { loop.end() }
                        return session.run(loop, on: terminal, clock: program.hooks.clock)
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
        return state
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

    /// The loop of the full screen: draw, then wait for a key, an effect's result, a signal or the
    /// kiosk's next tick, whichever comes first.
    private func run(_ loop: ProgramLoop, on terminal: TerminalSession, clock: any TimeSource) -> LoopOutcome {
        // The kiosk's clock: the program's time at start, then advanced by a monotonic clock, so setting
        // the system clock neither resets the kiosk early nor holds it back.
        let startDate = clock.now()
        let startInstant = ContinuousClock.now
        func now() -> Date {
            let elapsed = ContinuousClock.now - startInstant
            let components = elapsed.components
            return startDate.addingTimeInterval(TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18)
        }
        var demoNote: DemoHints? = demo
        var endingSignal: Int32?
        var keepGoing = true
        if let link {
            loop.send(.focus(.field(.link)))
            loop.send(.text(InputText.clean(link, limit: FieldID.link.limit).text))
            if demo == nil { keepGoing = loop.send(.key(.enter)) }
        }
        if kiosk { loop.send(.tick(now())) }
        while keepGoing {
            var screen = render(loop.state)
            if let hints = demoNote { addDemoHints(&screen, state: loop.state, hints: hints) }
            terminal.draw(screen, force: loop.redrawRequested)
            loop.redrawRequested = false
            if let signal = endingSignal ?? TerminalSession.terminationRequested {
                if signal == SIGINT, kiosk {
                    TerminalSession.clearInterrupt()
                } else if loop.state.work != nil, loop.state.isCritical {
                    // The profile is being written: finish that first, then end.
                    endingSignal = signal
                } else {
                    return .signal(128 + signal)
                }
            }
            let timeout = kiosk ? Kiosk.secondsToNextTick(loop.state, now: now()).map { Int32(($0 * 1000).rounded(.up)) } ?? -1 : -1
            switch terminal.nextInput(wake: loop.queue.descriptor, timeoutMilliseconds: timeout) {
            case .key(let key): keepGoing = loop.send(.key(key))
            case .paste(let text): keepGoing = loop.send(.pasted(text))
            case .invalidText: keepGoing = loop.send(.invalidText)
            case .resize(let width, let height): keepGoing = loop.send(.resized(width: width, height: height))
            case .timeout, .ignored, .wake: break
            case .endOfInput:
                // The terminal went away (hang-up): end as SIGHUP would, once no profile is half-way.
                endingSignal = SIGHUP
            }
            if keepGoing { keepGoing = loop.deliverResults() }
            if kiosk, keepGoing { keepGoing = loop.send(.tick(now())) }
            if loop.state.step == .activation, loop.state.activationStage == .summary { demoNote = nil }
        }
        if let profile = loop.state.profileFile, loop.state.summary == nil { return .quitBeforeLogIn(profile) }
        if let summary = loop.state.summary, !kiosk { return .finished(summary, loop.state.language) }
        return .quit
    }

    /// The demo's crib line: the answers on step 2, the reference number on step 5.
    private func addDemoHints(_ screen: inout Screen, state: WizardState, hints: DemoHints) {
        guard !state.isTooSmall, !state.showHelp, state.work == nil else { return }
        let text = Localizer(state.language)
        let line: String
        switch state.step {
        case .link: line = text.text("demo.hint.link")
        case .identity: line = text.text("demo.hint.answers", ["answers": hints.answers.joined(separator: " / ")])
        case .activation where state.activationStage == .form:
            line = text.text("demo.hint.reference", ["reference": hints.newestReference() ?? hints.reference])
        default: return
        }
        let row = screen.height - 6
        screen.put(DisplayWidth.prefix(line, columns: screen.width - 4), row: row, column: 2, style: Style(color: .yellow))
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
