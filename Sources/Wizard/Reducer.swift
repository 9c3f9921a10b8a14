import Activation
import Foundation
import ScreenModel

/// The wizard's one state transition: applies `event` to `state` and returns the effects to run.
///
/// Pure: no I/O, no clock, no curses. The program loop stops once `state.ending` is set.
public func reduce(_ state: inout WizardState, _ event: WizardEvent, _ environment: WizardEnvironment) -> [WizardEffect] {
    let focusBefore = state.focus
    var effects = apply(event, &state, environment)
    if focusBefore != state.focus, focusBefore == .field(.password) || focusBefore == .field(.confirmation) {
        // A password field was left: its dictionary rule runs now.
        effects += ActivationStep.completePasswordCheck(&state)
    }
    guard let ending = state.endAfterWork, state.work == nil else { return effects }
    // An end waited for the profile to be written or opened; that work is over.
    state.endAfterWork = nil
    state.ending = ending
    return []
}

private func apply(_ event: WizardEvent, _ state: inout WizardState, _ environment: WizardEnvironment) -> [WizardEffect] {
    switch event {
    case .resized(let width, let height):
        state.width = width
        state.height = height
        // What was typed while the terminal was too small is applied now, in order.
        guard !state.isTooSmall, !state.heldInput.isEmpty else { return [] }
        let held = state.heldInput
        state.heldInput = []
        return held.flatMap { reduce(&state, $0, environment) }
    case .tick(let now):
        return Kiosk.tick(now, &state)
    case .signal(let signal):
        // Ctrl-C in a kiosk arrives as a key and does nothing; SIGINT from outside does nothing either.
        if signal == .interrupt, state.kiosk { return [] }
        return end(.signal(signal), &state)
    case .inputEnded:
        return end(.inputEnded, &state)
    case .demoReference(let reference):
        state.demo?.reference = reference
        return []
    case .customerServiceKnown(let customerService):
        state.customerService = customerService
        return []
    case .typingPaused:
        return ActivationStep.completePasswordCheck(&state)
    case .passwordDictionaryChecked(let edit, let common):
        ActivationStep.dictionaryChecked(&state, edit: edit, common: common)
        return []
    case .focus(let control):
        guard state.work == nil, !state.showHelp, focusOrder(state).contains(control) else { return [] }
        state.focus = control
        return []
    case .key(let key):
        if Kiosk.activity(&state) { return [] }
        if state.isTooSmall, ![.function(10), .control("c"), .control("l")].contains(key) {
            hold(event, &state)
            return []
        }
        return handle(key, &state, environment)
    case .text(let text):
        if Kiosk.activity(&state) { return [] }
        if state.isTooSmall {
            hold(event, &state)
            return []
        }
        guard state.work == nil, !state.showHelp else { return [] }
        if case .field(let id) = state.focus { edit(id, &state, environment) { $0.insert(text) } }
        return []
    case .pasted(let text):
        guard case .field(let id) = state.focus else {
            _ = Kiosk.activity(&state)
            return []
        }
        // Line breaks (and tabs) in a paste are blanks; a link broken over two lines joins up.
        let lines = text.split(omittingEmptySubsequences: true) { $0 == "\n" || $0 == "\r" || $0 == "\r\n" || $0 == "\t" }
        return reduce(&state, .text(lines.joined(separator: id == .link ? "" : " ")), environment)
    case .invalidText:
        if state.isTooSmall || state.work != nil { return [] }
        state.notice = .message(.invalidText)
        return []
    case .lookedUp(let outcome):
        return LinkStep.lookedUp(outcome, &state)
    case .authorityUnconfirmed(let fingerprint):
        return LinkStep.authorityUnconfirmed(fingerprint, &state)
    case .authorityTrusted(let outcome):
        return LinkStep.authorityTrusted(outcome, &state)
    case .recoveryRequested(let outcome):
        return LinkStep.recoveryRequested(outcome, &state)
    case .profileUpdated(let outcome):
        return ActivationStep.updated(outcome, &state)
    case .identityChecked(let outcome):
        return IdentityStep.checked(outcome, &state)
    case .componentsChecked(let reports):
        return ComponentsStep.checked(reports, &state)
    case .activationManagerInstalled(let outcome):
        return ComponentsStep.installed(outcome, &state)
    case .renewed(let outcome):
        return RenewalStep.renewed(outcome, &state)
    case .progressed(let progress):
        if case .activating = state.work { state.work = .activating(progress) }
        return []
    case .activated(let outcome):
        return ActivationStep.activated(outcome, &state)
    case .loggedIn(let outcome):
        return ActivationStep.loggedIn(outcome, &state)
    }
}

/// Keeps what was typed while the terminal is too small to show it (at most a screenful of keys).
private func hold(_ event: WizardEvent, _ state: inout WizardState) {
    guard state.work == nil, state.heldInput.count < 512 else { return }
    state.heldInput.append(event)
}

/// Keys that work everywhere, then focus movement, then the focused control.
private func handle(_ key: Key, _ state: inout WizardState, _ environment: WizardEnvironment) -> [WizardEffect] {
    switch key {
    case .function(10), .control("c"):
        return requestQuit(&state)
    case .control("l"):
        return [.redraw]
    case .function(2):
        state.language = state.language.other
        state.languageChosen = true
        return []
    case .function(1):
        state.showHelp.toggle()
        return []
    default:
        if state.confirmingQuit {
            // Any other key: the person stays; the question goes.
            state.confirmingQuit = false
            state.notice = nil
        }
    }
    if state.showHelp {
        if key == .escape || key == .enter { state.showHelp = false }
        return []
    }
    guard !state.isTooSmall, state.work == nil else { return [] }
    switch key {
    case .escape:
        return goBack(&state)
    case .tab, .down:
        if leaveField(&state) { moveFocus(&state, by: 1) }
        return []
    case .backTab, .up:
        if leaveField(&state) { moveFocus(&state, by: -1) }
        return []
    case .enter:
        return activateFocused(&state, environment)
    default:
        break
    }
    switch state.focus {
    case .field(let id):
        switch key {
        case .character(let character):
            edit(id, &state, environment) { $0.insert(String(character)) }
        case .backspace:
            edit(id, &state, environment) {
                $0.backspace()
                return false
            }
        case .delete:
            edit(id, &state, environment) {
                $0.deleteForward()
                return false
            }
        case .left:
            edit(id, &state, environment) {
                $0.moveLeft()
                return false
            }
        case .right:
            edit(id, &state, environment) {
                $0.moveRight()
                return false
            }
        case .home, .control("a"):
            edit(id, &state, environment) {
                $0.moveHome()
                return false
            }
        case .end, .control("e"):
            edit(id, &state, environment) {
                $0.moveEnd()
                return false
            }
        case .control("u"):
            edit(id, &state, environment) {
                $0.wipe()
                return false
            }
        default: break
        }
    case .hideAnswers:
        if key == .character(" ") { state.hideAnswers.toggle() }
    case .installProvider:
        if key == .character(" ") { state.installProvider.toggle() }
    case .keyChoice:
        switch key {
        case .character(" "), .right: cycleKeyChoice(&state, by: 1)
        case .left: cycleKeyChoice(&state, by: -1)
        default: break
        }
    case .button:
        if key == .character(" ") { return activateFocused(&state, environment) }
    }
    return []
}

/// Focus is leaving the focused control.
///
/// A mistyped reference number is refused as soon as it is entered (its check digit needs no
/// authority): the message shows and focus stays. Once it is right, the message about it goes.
/// Returns whether focus may move.
private func leaveField(_ state: inout WizardState) -> Bool {
    guard state.focus == .field(.reference) else { return true }
    let text = state.field(.reference).text
    guard !text.isEmpty else { return true }
    do {
        _ = try ReferenceNumber(parsing: text)
        if case .activation(let error)? = state.notice?.content, error.code == .referenceMalformed || error.code == .referenceCheckDigit {
            state.notice = nil
        }
        return true
    } catch {
        state.notice = .error(error)
        return false
    }
}

/// Applies an edit to a field; a cut paste leaves a message.
///
/// Password fields re-check the policy live.
private func edit(_ id: FieldID, _ state: inout WizardState, _ environment: WizardEnvironment, _ change: (inout TextField) -> Bool) {
    var field = state.field(id)
    let before = field.text
    let truncated = change(&field)
    state.fields[id] = field
    if truncated {
        state.notice = .message(.truncated(limit: id.limit))
    }
    if id == .password || id == .confirmation, field.text != before {
        // The cheap rules tick at once; the dictionary waits for a pause (`typingPaused`) or for the field to be left.
        // (A cursor move changes nothing: a verdict already in stays.)
        ActivationStep.evaluatePassword(&state, environment, checkingDictionary: false)
    }
    // A message about what the field held goes once the field holds something valid.
    if !truncated, case .activation(let error)? = state.notice?.content {
        switch (id, error.code) {
        case (.link, .linkMalformed), (.link, .unknownApplication), (.link, .alreadyActivated):
            if (try? ApplicationToken(parsing: field.text)) != nil { state.notice = nil }
        case (.reference, .referenceMalformed), (.reference, .referenceCheckDigit):
            if (try? ReferenceNumber(parsing: field.text)) != nil { state.notice = nil }
        default:
            break
        }
    }
}

/// The controls of the current screen, in focus order.
public func focusOrder(_ state: WizardState) -> [Control] {
    switch state.step {
    case .link:
        if state.authorityToConfirm != nil { return [.button(.trustAuthority)] }
        return state.recoveryForm ? [.field(.recoveryEmail), .button(.sendRecovery)] : [.field(.link), .button(.next), .button(.recover)]
    case .identity:
        return state.dead ? [] : FieldID.answers.map(Control.field) + [.hideAnswers, .button(.next)]
    case .components:
        let needsInstall = state.components.contains { !$0.status.isInstalled && $0.installable }
        return (needsInstall ? [.button(.install)] : []) + [.button(.recheck), .button(.next)]
    case .renewal:
        return (state.identity?.renewalNeeded ?? false) ? [.button(.renew)] : [.button(.next)]
    case .activation:
        switch state.activationStage {
        case .form: return [.field(.reference), .field(.password), .field(.confirmation), .keyChoice, .button(.activate)]
        case .finishParked: return [.field(.loginPassword), .button(.finishParked)]
        case .login: return [.field(.loginPassword)] + (state.offerProvider ? [.installProvider] : []) + [.button(.login)]
        case .summary: return (state.updatePassword != nil ? [.button(.update)] : []) + [.button(.finish)]
        }
    }
}

/// Moves focus to the next (or previous) control, wrapping around.
func moveFocus(_ state: inout WizardState, by offset: Int) {
    let order = focusOrder(state)
    guard !order.isEmpty else { return }
    let index = order.firstIndex(of: state.focus) ?? -offset
    state.focus = order[((index + offset) % order.count + order.count) % order.count]
}

/// Puts focus on the first control of the screen.
func focusFirst(_ state: inout WizardState) {
    state.focus = focusOrder(state).first ?? .button(.next)
}

private func cycleKeyChoice(_ state: inout WizardState, by offset: Int) {
    let all = KeyAlgorithm.allCases
    let index = all.firstIndex(of: state.keyChoice) ?? 0
    state.keyChoice = all[((index + offset) % all.count + all.count) % all.count]
}

/// Enter: a text field submits the screen's primary action; a button does its own.
private func activateFocused(_ state: inout WizardState, _ environment: WizardEnvironment) -> [WizardEffect] {
    switch state.focus {
    case .hideAnswers:
        state.hideAnswers.toggle()
        return []
    case .installProvider:
        state.installProvider.toggle()
        return []
    case .keyChoice:
        return primaryAction(&state, environment)
    case .field:
        return primaryAction(&state, environment)
    case .button(let button):
        switch button {
        case .install: return ComponentsStep.install(&state)
        case .recheck: return ComponentsStep.recheck(&state)
        case .renew: return RenewalStep.renew(&state)
        case .recover: return LinkStep.openRecovery(&state)
        case .trustAuthority: return LinkStep.trustAuthority(&state)
        case .update: return ActivationStep.update(&state)
        case .sendRecovery: return primaryAction(&state, environment)
        case .next, .activate, .finishParked, .login, .finish: return primaryAction(&state, environment)
        }
    }
}

/// The screen's main action (what "Next" / "Download and Activate" / "Log in" does).
private func primaryAction(_ state: inout WizardState, _ environment: WizardEnvironment) -> [WizardEffect] {
    switch state.step {
    case .link: return state.recoveryForm ? LinkStep.sendRecovery(&state) : LinkStep.submit(&state)
    case .identity: return IdentityStep.submit(&state)
    case .components: return ComponentsStep.next(&state)
    case .renewal: return RenewalStep.next(&state)
    case .activation:
        switch state.activationStage {
        case .form: return ActivationStep.submit(&state, environment)
        case .finishParked: return ActivationStep.finishParked(&state)
        case .login: return ActivationStep.logIn(&state)
        case .summary:
            if state.kiosk {
                // "Done — next person": every field wiped, back to step 1 (SPEC §3, kiosk mode).
                Kiosk.reset(&state)
                return []
            }
            state.ending = .quit
            return []
        }
    }
}

/// F10 or Ctrl-C: quits, never in kiosk mode.
///
/// While the profile is being written, the wizard quits as soon as it is on disk; at the log-in
/// screen a second F10 quits (the message says how to log in later); elsewhere it quits at once
/// (nothing is spent that a rerun cannot pick up).
private func requestQuit(_ state: inout WizardState) -> [WizardEffect] {
    guard !state.kiosk else { return [] }
    switch state.work {
    case .activating:
        state.endAfterWork = .quit
        state.notice = .message(.quitAfterWork)
        return []
    case .loggingIn:
        // Reading the profile only: nothing to wait for.
        break
    default:
        if state.step == .activation, state.activationStage == .login, !state.confirmingQuit {
            state.confirmingQuit = true
            state.notice = .message(.confirmQuitLogin(profile: state.profileFile?.path ?? ""))
            return []
        }
    }
    state.ending = .quit
    return []
}

/// A signal or the end of input: the wizard ends at once, unless a profile is being written or opened (then as soon
/// as that is over, so no activation is left half-way).
private func end(_ ending: Ending, _ state: inout WizardState) -> [WizardEffect] {
    if state.work != nil, state.isCritical {
        state.endAfterWork = ending
    } else {
        state.ending = ending
    }
    return []
}

extension WizardState {
    /// Whether Esc goes somewhere from here (`goBack`): the footer offers it only then.
    public var canGoBack: Bool {
        switch step {
        case .link: return recoveryForm || authorityToConfirm != nil
        case .components: return false
        case .identity, .renewal: return true
        case .activation: return activationStage == .form || activationStage == .finishParked
        }
    }
}

/// Esc: one step back, never past a completed identity check or activation.
private func goBack(_ state: inout WizardState) -> [WizardEffect] {
    switch state.step {
    case .link:
        if state.authorityToConfirm != nil {
            // Not trusted: nothing was sent; back to what the person typed.
            state.authorityToConfirm = nil
            state.notice = nil
            focusFirst(&state)
        } else if state.recoveryForm {
            LinkStep.closeRecovery(&state)
        }
        return []
    case .identity:
        IdentityStep.wipeAnswers(&state)
        state.step = .link
        state.overview = nil
        state.token = nil
        state.dead = false
        state.notice = nil
        focusFirst(&state)
        return []
    case .components:
        state.notice = .message(.cannotGoBack)
        return []
    case .renewal:
        state.step = .components
        state.notice = nil
        return ComponentsStep.recheck(&state)
    case .activation where state.activationStage == .finishParked:
        // Nothing was spent on this run: back to the link (the parked activation stays parked).
        let (language, chosen) = (state.language, state.languageChosen)
        Kiosk.reset(&state)
        state.language = language
        state.languageChosen = chosen
        return []
    case .activation:
        guard state.activationStage == .form else { return [] }
        state.step = .renewal
        state.notice = nil
        focusFirst(&state)
        return []
    }
}
