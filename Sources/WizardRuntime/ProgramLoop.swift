import Activation
import Foundation
import Wizard

/// The one program loop both front ends (full screen and plain mode) run: events go through the
/// wizard's reducer, the effects it asks for start on the runner, and their results come back
/// through one queue the front end waits on with its own input.
public final class ProgramLoop {
    public private(set) var state: WizardState
    public let queue = EventQueue()
    public let runner: EffectRunner
    private let environment: WizardEnvironment
    /// Ctrl-L asked for a full repaint; the front end clears it once done.
    public var redrawRequested = false

    public init(state: WizardState, environment: WizardEnvironment, runner: EffectRunner) {
        self.state = state
        self.environment = environment
        self.runner = runner
    }

    /// Applies `event` and starts the effects it asks for.
    ///
    /// Returns false once the wizard quits.
    @discardableResult
    public func send(_ event: WizardEvent) -> Bool {
        var keepGoing = true
        for effect in reduce(&state, event, environment) {
            switch effect {
            case .quit: keepGoing = false
            case .redraw: redrawRequested = true
            default: runner.start(effect, posting: queue)
            }
        }
        return keepGoing && !state.finished
    }

    /// Applies every result the effects posted.
    ///
    /// Returns false once the wizard quits.
    @discardableResult
    public func deliverResults() -> Bool {
        var keepGoing = true
        for event in queue.drain() where keepGoing { keepGoing = send(event) }
        return keepGoing
    }

    /// Whether an effect is still running.
    public var isWorking: Bool { state.work != nil }

    /// Ends the loop: cancels whatever effects still run.
    public func end() { runner.cancelAll() }
}
