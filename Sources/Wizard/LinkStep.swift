import Activation
import AuthorityInterface

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

    // MARK: - Recover my digital signature

    /// The email form of "Recover my digital signature".
    static func openRecovery(_ state: inout WizardState) -> [WizardEffect] {
        state.recoveryForm = true
        state.notice = .message(.recoveryIntro)
        focusFirst(&state)
        return []
    }

    /// Back to the link (Esc, or once the email went).
    static func closeRecovery(_ state: inout WizardState) {
        state.recoveryForm = false
        state.fields[.recoveryEmail] = nil
        focusFirst(&state)
    }

    static func sendRecovery(_ state: inout WizardState) -> [WizardEffect] {
        let text = state.field(.recoveryEmail).text
        guard let email = try? InputText.validate(text, field: .email), Subscriber.looksLikeEmail(email) else {
            state.notice = .message(.recoveryEmailInvalid)
            state.focus = .field(.recoveryEmail)
            return []
        }
        state.notice = nil
        state.work = .requestingRecovery
        return [.requestRecovery(email: email)]
    }

    static func recoveryRequested(_ outcome: Outcome<Bool>, _ state: inout WizardState) -> [WizardEffect] {
        guard state.work == .requestingRecovery else { return [] }
        state.work = nil
        switch outcome {
        case .failure(let failure):
            state.notice = failure.notice
            state.focus = .field(.recoveryEmail)
        case .success:
            // The same words whether or not the address is known; the link from that email goes here.
            closeRecovery(&state)
            state.notice = .message(.recoverySent)
        }
        return []
    }

    // MARK: - An authority nothing vouches for yet

    /// The lookup (or the recovery request) was held back: the person compares the fingerprint first.
    static func authorityUnconfirmed(_ fingerprint: String, _ state: inout WizardState) -> [WizardEffect] {
        guard state.work == .lookingUp || state.work == .requestingRecovery else { return [] }
        state.work = nil
        state.authorityToConfirm = fingerprint
        state.notice = .message(.confirmAuthority)
        focusFirst(&state)
        return []
    }

    static func trustAuthority(_ state: inout WizardState) -> [WizardEffect] {
        guard let fingerprint = state.authorityToConfirm else { return [] }
        state.work = .trustingAuthority
        return [.trustAuthority(fingerprint: fingerprint)]
    }

    /// Trusted: what the person had submitted goes now.
    static func authorityTrusted(_ outcome: Outcome<Bool>, _ state: inout WizardState) -> [WizardEffect] {
        guard state.work == .trustingAuthority else { return [] }
        state.work = nil
        switch outcome {
        case .failure(let failure):
            state.notice = failure.notice
            return []
        case .success:
            state.authorityToConfirm = nil
            state.notice = nil
            focusFirst(&state)
            return state.recoveryForm ? sendRecovery(&state) : submit(&state)
        }
    }

    static func lookedUp(_ outcome: Outcome<ApplicationLookup>, _ state: inout WizardState) -> [WizardEffect] {
        guard state.work == .lookingUp else { return [] }
        state.work = nil
        switch outcome {
        case .failure(let failure):
            state.notice = failure.notice
            state.focus = .field(.link)
        case .success(let lookup):
            let overview = lookup.overview
            let path: ActivationPath
            do throws(ActivationError) {
                path = try lookup.path
            } catch {
                // Activated elsewhere, locked or revoked: say so and what to do; never go on.
                state.notice = .error(error)
                state.focus = .field(.link)
                return []
            }
            state.token = overview.token
            state.overview = overview
            if state.language != overview.language, !state.languageChosen { state.language = overview.language }
            switch path {
            case .steps:
                break
            case .finishParked:
                // The identity check and the codes were spent by the interrupted run; its password finishes it.
                state.step = .activation
                state.activationStage = .finishParked
                state.notice = .message(.finishParked)
                focusFirst(&state)
                return []
            case .logIn(let profile):
                state.step = .activation
                state.activationStage = .login
                state.profileFile = profile
                state.notice = .message(.profileWrittenEarlier)
                focusFirst(&state)
                return []
            }
            state.step = .identity
            state.notice =
                overview.identityAttemptsRemaining < ActivationPolicy.identityAttempts
                ? .message(.attemptsRemaining(overview.identityAttemptsRemaining)) : nil
            focusFirst(&state)
        }
        return []
    }
}
