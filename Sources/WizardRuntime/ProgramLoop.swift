import Activation
import Foundation
import Wizard

/// Runs the effects the wizard asks for and posts their results to the loop's queue.
///
/// `EffectRunner` runs them for real; tests drive the loop with scripted results.
public protocol EffectRunning: Sendable {
    /// Starts `effect`; its events (progress, then its result) go to `queue`.
    func start(_ effect: WizardEffect, posting queue: EventQueue)
    /// Cancels every running effect (the program is ending).
    func cancelAll()
}

/// What a front end (the full screen, plain mode's prompts) does for the loop: shows the state, and turns what
/// comes in (keys, lines, pastes, resizes, signals, the end of input) into events.
public protocol FrontEnd: AnyObject {
    /// Shows `state`; `repaint` asks for everything to be drawn again (Ctrl-L).
    func show(_ state: WizardState, repaint: Bool)
    /// Waits for input, for `wake` to become readable (an effect posted its result), or for `timeout` (nil: no
    /// limit), whichever comes first, and returns what arrived.
    func next(_ state: WizardState, wake: Int32, timeout: Duration?) -> FrontEndInput
}

/// What a front end's wait produced.
public enum FrontEndInput: Equatable, Sendable {
    /// Events for the wizard (none after a wake or input that makes none).
    case events([WizardEvent])
    /// The timeout passed with nothing from the person (typing paused; the kiosk's next tick).
    case timedOut
    /// The front end stops the program with this exit status (plain mode: the person declined, the state is a
    /// dead end); it has said why.
    case stop(status: Int32)
}

/// How the loop ended.
public enum LoopEnd: Equatable, Sendable {
    /// The wizard ended (`state.ending`).
    case wizard(Ending)
    /// The front end stopped it with this exit status.
    case frontEnd(status: Int32)
}

/// The one program loop both front ends run: show the state, wait for the next input or effect result (and, in
/// kiosk mode, the next tick), apply each as an event, start the effects the reducer asks for; until the wizard
/// ends or the front end stops.
public final class ProgramLoop {
    public private(set) var state: WizardState
    public let queue = EventQueue()
    private let runner: any EffectRunning
    private let environment: WizardEnvironment
    private let clock: KioskClock
    /// Ctrl-L asked for a full repaint.
    private var repaintRequested = false
    /// An event came since the state was last shown.
    private var changed = false

    public init(state: WizardState, environment: WizardEnvironment, runner: any EffectRunning, clock: any TimeSource) {
        self.state = state
        self.environment = environment
        self.runner = runner
        self.clock = KioskClock(clock)
    }

    /// Runs the loop to its end: `initial` first (the link on the command line), then what comes in.
    ///
    /// What comes in is the front end's input and the effects' results. Effects still running at the end are cancelled.
    public func run(_ front: some FrontEnd, initial: [WizardEvent] = []) -> LoopEnd {
        defer { runner.cancelAll() }
        front.show(state, repaint: false)
        changed = false
        for event in initial { send(event) }
        if state.kiosk { send(.tick(clock.now())) }
        while true {
            if let ending = state.ending { return .wizard(ending) }
            show(on: front)
            let kioskTick = state.kiosk ? Kiosk.secondsToNextTick(state, now: clock.now()).map { Duration.seconds($0) } : nil
            let pause = state.passwordCheckPending ? WizardState.typingPause : nil
            let timeout = [kioskTick, pause].compactMap { $0 }.min()
            switch front.next(state, wake: queue.descriptor, timeout: timeout) {
            case .timedOut:
                if state.passwordCheckPending { send(.typingPaused) }
                for event in queue.drain() where state.ending == nil { send(event) }
            case .events(let events):
                for event in events where state.ending == nil { send(event) }
                // What these events made is shown before any result changes it (plain mode prints each step).
                if state.ending == nil { show(on: front) }
                for event in queue.drain() where state.ending == nil { send(event) }
            case .stop(let status):
                return .frontEnd(status: status)
            }
            if state.kiosk, state.ending == nil { send(.tick(clock.now())) }
        }
    }

    /// Shows the state if an event came since it was last shown (or Ctrl-L asked for a repaint).
    private func show(on front: some FrontEnd) {
        guard changed || repaintRequested else { return }
        front.show(state, repaint: repaintRequested)
        changed = false
        repaintRequested = false
    }

    /// Applies `event` and starts the effects it asks for.
    public func send(_ event: WizardEvent) {
        changed = true
        for effect in reduce(&state, event, environment) {
            switch effect {
            case .redraw: repaintRequested = true
            default: runner.start(effect, posting: queue)
            }
        }
    }
}

/// The kiosk's clock: the program's time at start, then advanced by a monotonic clock, so setting the system clock
/// neither resets the kiosk early nor holds it back.
private struct KioskClock {
    let startDate: Date
    let startInstant: ContinuousClock.Instant

    init(_ clock: any TimeSource) {
        startDate = clock.now()
        startInstant = ContinuousClock.now
    }

    func now() -> Date {
        let elapsed = (ContinuousClock.now - startInstant).components
        return startDate.addingTimeInterval(TimeInterval(elapsed.seconds) + TimeInterval(elapsed.attoseconds) / 1e18)
    }
}
