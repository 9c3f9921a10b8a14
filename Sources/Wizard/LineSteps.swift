import Activation
import ScreenModel

/// What a line-by-line front end (plain mode) does next, by the wizard's own rules: which field is
/// asked, what follows it (Tab to the next field, which checks the one left, or Enter to submit the
/// screen), which button a yes presses.
///
/// The full screen and plain mode share these rules through the focus order and the reducer; nothing
/// here guesses.
public enum LineStep: Equatable, Sendable {
    /// Work in flight: wait for its result.
    case wait
    /// Ask for the text of this field, then send `then` (`.tab` or `.enter`).
    case ask(FieldID, then: Key)
    /// Ask yes or no; yes presses this button, no ends the program (`stop` reason given).
    case confirm(ButtonID, declined: LineStop)
    /// Nothing to ask: press this button.
    case press(ButtonID)
    /// The summary is shown: done.
    case done
    /// The application cannot go on here; the message already says why.
    case stop(LineStop)
}

/// Why plain mode stops before the summary.
public enum LineStop: Equatable, Sendable {
    /// Locked, activated elsewhere, revoked, codes not renewed.
    case refused
    /// A component is missing that Paraphe cannot install.
    case unavailable
}

/// The next line step for `state`.
public func lineStep(_ state: WizardState) -> LineStep {
    if state.work != nil { return .wait }
    if state.dead { return .stop(.refused) }
    switch state.step {
    case .link:
        // An authority nothing vouches for: yes trusts it (and the link goes), no sends nothing and stops.
        if state.authorityToConfirm != nil { return .confirm(.trustAuthority, declined: .refused) }
        return .ask(.link, then: .enter)
    case .identity:
        return askFields(FieldID.answers, state)
    case .components:
        let reports = state.components
        if reports.allInstalled { return .press(.next) }
        if reports.isEmpty { return .press(.recheck) }
        if reports.contains(where: { !$0.status.isInstalled && !$0.installable }) { return .stop(.unavailable) }
        return .confirm(.install, declined: .unavailable)
    case .renewal:
        guard let identity = state.identity, identity.renewalNeeded else { return .press(.next) }
        if case .activation(let error)? = state.notice?.content, case .renewalLimit = error.code {
            // At most 3 renewals in 24 hours: the message says when to try again.
            return .stop(.refused)
        }
        return .confirm(.renew, declined: .refused)
    case .activation:
        switch state.activationStage {
        case .form: return askFields([.reference, .password, .confirmation], state)
        case .finishParked, .login: return .ask(.loginPassword, then: .enter)
        case .summary: return .done
        }
    }
}

/// Asks the focused field of a form (the wizard puts focus on the field it refused), else the first;
/// Tab after each field but the last, which submits the form.
private func askFields(_ fields: [FieldID], _ state: WizardState) -> LineStep {
    var field = fields[0]
    if case .field(let focused) = state.focus, fields.contains(focused) { field = focused }
    return .ask(field, then: field == fields.last ? .enter : .tab)
}
