import Activation
import AuthorityInterface

/// Step 2 — the three security questions (2 of 3 must match; 5 attempts in all).
enum IdentityStep {
    static func submit(_ state: inout WizardState) -> [WizardEffect] {
        guard let token = state.token, !state.dead else { return [] }
        var answers: [SecurityAnswer] = []
        for id in FieldID.answers {
            let text = state.field(id).text
            do {
                answers.append(SecurityAnswer(try InputText.validate(text, field: .answer)))
            } catch {
                state.notice = .message(.answerAll)
                state.focus = .field(id)
                return []
            }
        }
        state.notice = nil
        state.work = .verifying
        return [.verifyIdentity(token, answers)]
    }

    static func checked(_ outcome: Outcome<IdentityVerification>, _ state: inout WizardState) -> [WizardEffect] {
        guard state.work == .verifying else { return [] }
        state.work = nil
        switch outcome {
        case .failure(let failure):
            state.notice = failure.notice
            if case .refused(let error) = failure {
                if error.endsApplication {
                    if error.code == .identityLocked { state.overview?.identityAttemptsRemaining = 0 }
                    wipeAnswers(&state)
                    state.dead = true
                    state.focus = .button(.next)
                    return []
                }
                switch error.code {
                case .wrongAnswers(let remaining):
                    state.overview?.identityAttemptsRemaining = remaining
                    // The answers stay, to fix the wrong one, but hidden: focus goes back to answer 1,
                    // and an answer is never shown again once its field was left. The box says so.
                    state.hideAnswers = true
                default:
                    break
                }
            }
            focusFirst(&state)
            return []
        case .success(let identity):
            wipeAnswers(&state)
            state.identity = identity
            state.notice = nil
            state.step = .components
            state.work = .checkingComponents
            state.focus = .button(.next)
            return [.checkComponents]
        }
    }

    static func wipeAnswers(_ state: inout WizardState) {
        for id in FieldID.answers { state.fields[id]?.wipe() }
    }
}
