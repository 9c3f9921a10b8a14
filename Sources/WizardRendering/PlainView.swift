import Activation
import Wizard

/// What plain mode has said so far, so that each line is said once: step headings, component
/// reports, the work under way, the last message.
public struct PlainTranscript: Equatable, Sendable {
    var step: WizardStep?
    var components: [ComponentReport] = []
    var work: Work?
    var notice: Notice?
    var passwordRulesShown = false
    var summaryShown = false

    public init() {}

    /// The next submission's outcome is said even if it reads as the last message did.
    public mutating func expectNewNotice() { notice = nil }
}

/// Plain mode's view: the lines `state` adds to what `transcript` already said, in reading order
/// (step heading and introduction, component reports, work under way, message, summary).
///
/// Pure: the console driver prints them, and snapshots hold them.
public func plainLines(_ state: WizardState, after transcript: inout PlainTranscript) -> [String] {
    let text = state.localizer
    var lines: [String] = []
    if transcript.step != state.step {
        if let previous = transcript.step, previous < .renewal, state.step == .activation, state.activationStage == .form {
            // Step 4 passes straight on when the codes are valid: it still says until when.
            lines.append(heading(.renewal, text))
            if let notice = state.notice { lines += noticeLines(notice, state) }
            transcript.notice = state.notice
        }
        lines.append(heading(state.step, text))
        transcript.step = state.step
        switch state.step {
        case .link: lines.append(text.text("link.intro"))
        case .identity:
            let remaining = state.overview?.identityAttemptsRemaining ?? ActivationPolicy.identityAttempts
            lines.append(text.text("identity.intro", ["remaining": String(remaining)]))
        case .components: lines.append(text.text("components.intro"))
        case .renewal:
            // The screen says why in its body; plain mode says it as an error line, then what renewal does.
            if let reason = state.identity?.renewalReason { lines += noticeLines(.error(reason), state) }
            if state.identity?.renewalNeeded ?? false { lines.append(text.text("renewal.explain")) }
        case .activation where state.activationStage == .form: lines.append(text.text("activation.intro"))
        case .activation: break
        }
    }
    if state.step == .components, !state.components.isEmpty, state.components != transcript.components {
        transcript.components = state.components
        lines += state.components.map { ComponentLine($0, language: state.language).oneLine }
    }
    if state.work != transcript.work {
        transcript.work = state.work
        if let work = state.work { lines.append(text.text(work.messageKey)) }
    }
    let onSummary = state.step == .activation && state.activationStage == .summary
    if let notice = state.notice, notice != transcript.notice, !onSummary {
        lines += noticeLines(notice, state)
    }
    transcript.notice = state.notice
    if onSummary, !transcript.summaryShown, let summary = state.summary {
        transcript.summaryShown = true
        lines.append(text.text("summary.title"))
        lines += SummaryFormat.rows(summary, language: state.language).map { "\($0.label) \($0.value)" }
    }
    return lines.map { InputText.printable($0, limit: 4_000) }
}

/// The lines before a field's prompt (an answer's question, the password rules once) and the prompt.
public func plainPrompt(_ field: FieldID, _ state: WizardState, transcript: inout PlainTranscript) -> (lines: [String], prompt: String) {
    let text = state.localizer
    switch field {
    case .link:
        return ([], text.text("plain.prompt.link"))
    case .answer1, .answer2, .answer3:
        let index = FieldID.answers.firstIndex(of: field) ?? 0
        let questions = state.overview?.questions ?? []
        let question = index < questions.count ? questions[index] : ""
        let number = String(index + 1)
        return (
            [InputText.printable(text.text("plain.question", ["n": number, "question": question]), limit: 4_000)],
            text.text("plain.prompt.answer", ["n": number])
        )
    case .reference:
        return ([], text.text("plain.prompt.reference"))
    case .password:
        var lines: [String] = []
        if !transcript.passwordRulesShown {
            transcript.passwordRulesShown = true
            let rules = PasswordRule.allCases.filter { $0 != .maximumLength }.map { text.text($0.messageKey) }
            lines.append(text.text("plain.passwordRules", ["rules": rules.joined(separator: listSeparator(state.language))]))
        }
        return (lines, text.text("plain.prompt.password"))
    case .confirmation:
        return ([], text.text("plain.prompt.confirmation"))
    case .loginPassword:
        return ([], text.text(state.activationStage == .finishParked ? "plain.prompt.finishParked" : "plain.prompt.login"))
    case .recoveryEmail:
        return ([], text.text("recovery.label") + ": ")
    }
}

/// The yes/no question that stands for a button in plain mode.
public func plainConfirmation(_ button: ButtonID, _ state: WizardState) -> String {
    let text = state.localizer
    switch button {
    case .renew: return text.text("plain.prompt.renew")
    case .trustAuthority: return text.text("plain.prompt.trustAuthority", ["fingerprint": state.authorityToConfirm ?? ""])
    default: return text.text("plain.prompt.install")
    }
}

/// What plain mode says when the person answers no to `button`, or (nil) when it cannot go on.
public func plainStopLine(declined button: ButtonID?, _ state: WizardState) -> String {
    let text = state.localizer
    switch button {
    case .install?: return text.text("plain.declined.install")
    case .trustAuthority?: return text.text("plain.declined.trustAuthority")
    case .renew?: return text.text("plain.declined.renew")
    default: return text.text("plain.cannotGoOn")
    }
}

private func heading(_ step: WizardStep, _ text: Localizer) -> String {
    text.text("step.heading", ["n": String(step.rawValue), "title": text.text(step.titleKey)])
}

/// Between the items of a list on one line (French puts a space before the semicolon).
private func listSeparator(_ language: Language) -> String { language == .fr ? " ; " : "; " }

/// A message as lines; the few that speak of the screen's buttons or lists get plain wording.
private func noticeLines(_ notice: Notice, _ state: WizardState) -> [String] {
    let text = state.localizer
    if case .wizard(let message) = notice.content {
        switch message {
        case .componentsInstall, .confirmAuthority:
            return []  // the yes/no question comes next
        case .componentsReady:
            return [text.text("plain.componentsReady")]
        case .passwordNotReady:
            let unmet = (state.passwordCheck?.unmet ?? []).map { text.text($0.messageKey) }
            return [
                text.text(
                    "plain.error", ["text": text.text("plain.passwordUnmet", ["rules": unmet.joined(separator: listSeparator(state.language))])])
            ]
        default:
            break
        }
    }
    let body = notice.text(state.localizer)
    return [notice.tone == .error ? text.text("plain.error", ["text": body]) : body]
}
