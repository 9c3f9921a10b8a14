import Activation
import Authority

/// Step 1 — the activation link from the approval email.
enum LinkStep {
    static func submit(_ state: inout WizardState) -> [WizardEffect] {
        do {
            let token = try ApplicationToken(parsing: state.field(.link).text)
            state.notice = nil
            state.work = .lookingUp
            return [.lookUp(token)]
        } catch {
            state.notice = .error(error)
            state.focus = .field(.link)
            return []
        }
    }

    static func lookedUp(_ outcome: Outcome<ApplicationOverview>, _ state: inout WizardState) -> [WizardEffect] {
        guard state.work == .lookingUp else { return [] }
        state.work = nil
        switch outcome {
        case .failure(let notice):
            state.notice = notice
            state.focus = .field(.link)
        case .success(let overview):
            do {
                try overview.status.ensureActivatable()
            } catch {
                // Activated, locked or revoked: say so and what to do; never go on.
                state.notice = .error(error)
                state.focus = .field(.link)
                return []
            }
            state.token = overview.token
            state.overview = overview
            if state.language != overview.language, !state.languageChosen { state.language = overview.language }
            state.step = .identity
            state.notice = overview.identityAttemptsRemaining < ActivationPolicy.identityAttempts
                ? .info("notice.attemptsRemaining", ["remaining": String(overview.identityAttemptsRemaining)]) : nil
            focusFirst(&state)
        }
        return []
    }
}
