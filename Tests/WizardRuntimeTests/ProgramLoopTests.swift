import Activation
import AuthorityInterface
import Foundation
import ParapheTestSupport
import Synchronization
import Testing
import Wizard
import WizardRuntime

/// The program loop without a terminal: a scripted front end gives its input, scripted effects answer, and the test
/// reads every state the front end was shown (as bubbletea's program tests and `TestStore.receive` do).
@Suite struct ProgramLoopTests {
    static let link = "https://activation.paraphe.example/activate/7K2M-Q9XD-4HPA-VT3R"
    let token: ApplicationToken

    init() throws { token = try ApplicationToken(parsing: "7K2M-Q9XD-4HPA-VT3R") }
    static let profile = URL(fileURLWithPath: "/home/jeanne/.local/share/paraphe/profiles/Jeanne_Tremblay.p12")
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    func loop(_ state: WizardState = WizardState(language: .en), effects: ScriptedEffects = ScriptedEffects()) -> ProgramLoop {
        ProgramLoop(
            state: state, environment: WizardEnvironment(passwordPolicy: PasswordPolicy(checker: LengthOnly())), runner: effects,
            clock: ManualTimeSource(Self.start))
    }

    @Test func anEffectsResultComesBackThroughTheQueueAfterTheWorkIsShown() {
        let refused = ActivationError(.unknownApplication)
        let token = self.token
        let effects = ScriptedEffects { effect in
            effect == .lookUp(token) ? [WizardEvent.lookedUp(.failure(.refused(refused)))] : []
        }
        let front = ScriptedFront([
            { _ in .events([.text(Self.link), .key(.enter)]) },
            { state in
                #expect(state.work == nil)
                #expect(state.notice == .error(refused))
                return .stop(status: 7)
            },
        ])
        let loop = loop(effects: effects)
        #expect(loop.run(front) == .frontEnd(status: 7))
        #expect(effects.started == [.lookUp(token)])
        // The result was waiting at once; the state that asked for it was shown first, and nothing twice.
        #expect(front.shown.map(\.work) == [nil, .lookingUp, nil])
        #expect(effects.cancelled, "effects still running are cancelled when the loop ends")
    }

    @Test func inputThatNeverStopsDoesNotStarveTheResults() {
        // A terminal that hung up reports the end of input on every wait; the profile's write must still come back.
        var state = WizardState(language: .en)
        state.step = .activation
        state.work = .activating(.writingProfile)
        let loop = loop(state)
        let front = ScriptedFront([
            { [queue = loop.queue] _ in
                queue.post(.activated(.success(Self.profile)))
                return .events([.inputEnded])
            }
        ])
        #expect(loop.run(front) == .wizard(.inputEnded))
        #expect(loop.state.profileFile == Self.profile)
    }

    @Test func theCommandLinesLinkIsTypedAndSubmittedFirst() {
        let effects = ScriptedEffects()
        let front = ScriptedFront([{ _ in .stop(status: 0) }])
        let loop = loop(effects: effects)
        _ = loop.run(front, initial: [.focus(.field(.link)), .text(Self.link), .key(.enter)])
        #expect(effects.started == [.lookUp(token)])
        #expect(front.shown.first?.field(.link).text == "", "the empty step 1 is shown while the authority opens")
    }

    @Test func aSignalWhileTheProfileIsWrittenEndsTheLoopOnceItIsOnDisk() {
        var state = WizardState(language: .en)
        state.step = .activation
        state.work = .activating(.requestingCertificate)
        let loop = loop(state)
        let front = ScriptedFront([
            { _ in .events([.signal(.terminate)]) },
            { state in
                #expect(state.ending == nil, "the profile is half-way: the loop goes on")
                return .events([.key(.character("x"))])
            },
            { [queue = loop.queue] _ in
                queue.post(.progressed(.writingProfile))
                queue.post(.activated(.success(Self.profile)))
                return .events([])
            },
        ])
        #expect(loop.run(front) == .wizard(.signal(.terminate)))
        #expect(loop.state.profileFile == Self.profile)
        #expect(front.remaining == 0)
    }

    @Test func theEndOfInputOutsideAnyWorkEndsAtOnce() {
        let front = ScriptedFront([{ _ in .events([.text("abc"), .inputEnded, .text("never applied")]) }])
        let loop = loop()
        #expect(loop.run(front) == .wizard(.inputEnded))
        #expect(loop.state.field(.link).text == "abc")
    }

    @Test func aPauseInTypingRunsThePasswordsDictionaryRule() {
        var state = WizardState(language: .en)
        state.step = .activation
        state.focus = .field(.password)
        let front = ScriptedFront([
            { _ in .events([.text("Quartz-Lantern-Orbit-73")]) },
            { state in
                #expect(state.passwordCheckPending, "a keystroke leaves the dictionary for a pause")
                return .timedOut
            },
            { state in
                #expect(!state.passwordCheckPending && state.passwordCheck?.isMet(.notCommon) == true)
                return .stop(status: 0)
            },
        ])
        // The rule runs off the loop (the effect runner) and comes back through the queue.
        let effects = ScriptedEffects { effect in
            guard case .checkPasswordDictionary(_, _, _, let edit) = effect else { return [] }
            return [.passwordDictionaryChecked(edit: edit, common: false)]
        }
        #expect(loop(state, effects: effects).run(front) == .frontEnd(status: 0))
        #expect(effects.started.count == 1, "asked once for the password")
        #expect(front.timeouts == [nil, WizardState.typingPause, nil], "the loop waits a pause only while the rule is pending")
    }

    @Test func ctrlLAsksTheFrontEndForAFullRepaintOnce() {
        let front = ScriptedFront([
            { _ in .events([.key(.control("l"))]) },
            { _ in .events([.key(.function(10))]) },
        ])
        #expect(loop().run(front) == .wizard(.quit))
        #expect(front.repaints == [false, true])
    }

    @Test func aKioskGetsTicksFromTheProgramsClockAndAWaitUntilTheNextOne() {
        var state = WizardState(language: .en, kiosk: true, idleTimeout: 60)
        state.step = .identity
        state.focus = .field(.answer1)
        let front = ScriptedFront([
            { state in
                let stamped = state.lastActivity.map { $0.timeIntervalSince(Self.start) }
                #expect(stamped.map { (0..<1).contains($0) } == true, "the first tick stamps the idle time with the program's clock")
                return .events([])
            },
            { _ in .events([.signal(.interrupt)]) },
            { state in
                #expect(state.ending == nil, "a kiosk ignores SIGINT")
                return .events([.signal(.hangUp)])
            },
        ])
        #expect(loop(state).run(front) == .wizard(.signal(.hangUp)))
        #expect(front.timeouts.first.flatMap { $0 }.map { $0 > .seconds(29) && $0 <= .seconds(30) } == true, "\(front.timeouts)")
    }
}

/// Effects that answer from a script at once, and remember what was asked.
final class ScriptedEffects: EffectRunning {
    private let answer: @Sendable (WizardEffect) -> [WizardEvent]
    private let log = Mutex<(started: [WizardEffect], cancelled: Bool)>(([], false))

    init(_ answer: @escaping @Sendable (WizardEffect) -> [WizardEvent] = { _ in [] }) { self.answer = answer }

    func start(_ effect: WizardEffect, posting queue: EventQueue) {
        log.withLock { $0.started.append(effect) }
        for event in answer(effect) { queue.post(event) }
    }

    func cancelAll() { log.withLock { $0.cancelled = true } }

    var started: [WizardEffect] { log.withLock { $0.started } }
    var cancelled: Bool { log.withLock { $0.cancelled } }
}

/// A front end that gives scripted input, one step per wait, and keeps what it was shown.
final class ScriptedFront: FrontEnd {
    private var script: [(WizardState) -> FrontEndInput]
    private(set) var shown: [WizardState] = []
    private(set) var repaints: [Bool] = []
    private(set) var timeouts: [Duration?] = []

    init(_ script: [(WizardState) -> FrontEndInput]) { self.script = script }

    var remaining: Int { script.count }

    func show(_ state: WizardState, repaint: Bool) {
        shown.append(state)
        repaints.append(repaint)
    }

    func next(_ state: WizardState, wake: Int32, timeout: Duration?) -> FrontEndInput {
        timeouts.append(timeout)
        guard !script.isEmpty else {
            Issue.record("the loop waited for more input than the script has")
            return .stop(status: -1)
        }
        return script.removeFirst()(state)
    }
}
