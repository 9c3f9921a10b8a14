import Foundation

/// Kiosk mode (SPEC §3): the idle reset, its countdown, and the summary making room for the next person.
///
/// Time comes in only as `.tick(now)` events; keys are activity. Idle time is not counted while work
/// is in flight (the person is waiting for Paraphe, not away).
public enum Kiosk {
    /// The summary of a finished activation stays at most this long (or the idle timeout if shorter).
    public static let summaryTimeout: TimeInterval = 20
    /// The countdown shows during the last 30 seconds before an idle reset (but see `quietAfterKey`).
    public static let warning: TimeInterval = 30
    /// The countdown never shows in the first 5 seconds after a key (half the timeout if that is shorter).
    ///
    /// So a key typed after a short pause is never swallowed as "cancel the countdown".
    public static let quietAfterKey: TimeInterval = 5

    /// How long `state` may stay untouched before it resets, and how long before that the countdown shows.
    static func limits(_ state: WizardState) -> (timeout: TimeInterval, warning: TimeInterval, reason: Countdown.Reason) {
        if isOnSummary(state) {
            let timeout = min(summaryTimeout, state.idleTimeout)
            return (timeout, timeout, .summary)
        }
        let timeout = state.idleTimeout
        let quiet = min(quietAfterKey, timeout / 2)
        return (timeout, min(warning, timeout - quiet), .idle)
    }

    static func isOnSummary(_ state: WizardState) -> Bool { state.step == .activation && state.activationStage == .summary }

    /// A tick: stamps the start of idle time, updates the countdown, and resets when time is up.
    static func tick(_ now: Date, _ state: inout WizardState) -> [WizardEffect] {
        guard state.kiosk else { return [] }
        guard state.work == nil, !state.isCritical, !isPristine(state) else {
            // Waiting for Paraphe is not being away, and between "Download and Activate" and the end of
            // the log-in the screen belongs to the person whose profile it is: no reset there. A step 1
            // that is already as a reset leaves it has nothing to wipe: no countdown either.
            state.lastActivity = nil
            state.countdown = nil
            return []
        }
        guard let since = state.lastActivity, since <= now else {
            // Just active (or the clock went back): idle time starts now.
            state.lastActivity = now
            state.countdown = nil
            return []
        }
        let (timeout, warning, reason) = limits(state)
        let remaining = timeout - now.timeIntervalSince(since)
        if remaining <= 0 {
            reset(&state)
            return []
        }
        state.countdown = remaining <= warning ? Countdown(reason, seconds: Int(remaining.rounded(.up))) : nil
        return []
    }

    /// How long the program may wait before the next `.tick` matters: when the countdown starts, when
    /// the number it shows changes, or when time is up.
    ///
    /// Nil: no tick matters until something happens (not a kiosk, work in flight, the log-in screen).
    public static func secondsToNextTick(_ state: WizardState, now: Date) -> TimeInterval? {
        guard state.kiosk, state.work == nil, !state.isCritical, !isPristine(state) else { return nil }
        guard let since = state.lastActivity, since <= now else { return 0 }
        let (timeout, warning, _) = limits(state)
        let remaining = timeout - now.timeIntervalSince(since)
        if remaining <= 0 { return 0 }
        if remaining > warning { return remaining - warning }
        // The shown number is `remaining` rounded up: it changes when `remaining` crosses the integer below.
        return max(0.001, remaining - (remaining.rounded(.up) - 1))
    }

    /// A key or pasted text arrived.
    ///
    /// Returns true if it only cancelled the idle countdown (and must do nothing else). On the summary, keys do
    /// not extend its time: only Enter (at once) or the timeout ends it.
    static func activity(_ state: inout WizardState) -> Bool {
        guard state.kiosk, !isOnSummary(state) else { return false }
        state.lastActivity = nil
        if state.countdown != nil {
            state.countdown = nil
            return true
        }
        return false
    }

    /// Wipes everything for the next person: every field, every secret, the application, the
    /// language the person switched to.
    ///
    /// Only the kiosk settings, the starting language and the terminal size remain. Step 1 as
    /// a reset leaves it: empty link, no message, no help, the starting language.
    static func isPristine(_ state: WizardState) -> Bool {
        state.step == .link && state.field(.link).text.isEmpty && state.notice == nil && !state.showHelp
            && state.language == state.initialLanguage
    }

    public static func reset(_ state: inout WizardState) {
        let (commandOptions, customerService) = (state.commandOptions, state.customerService)
        state = WizardState(
            language: state.initialLanguage, languageChosen: state.initialLanguageChosen, width: state.width, height: state.height,
            kiosk: state.kiosk, idleTimeout: state.idleTimeout
        )
        state.commandOptions = commandOptions
        state.customerService = customerService
    }
}
