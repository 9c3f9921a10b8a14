import Activation
import Foundation

/// Step 5 — reference number, password, "Download and Activate", then logging in to the profile.
enum ActivationStep {
    /// Checks the password against the policy; `checkingDictionary` false (a keystroke) leaves the dictionary rule
    /// pending until typing pauses, the field is left or the form is submitted.
    static func evaluatePassword(_ state: inout WizardState, _ environment: WizardEnvironment, checkingDictionary: Bool = true) {
        let password = state.field(.password).text
        let confirmation = state.field(.confirmation).text
        if !checkingDictionary { state.passwordEdits += 1 }
        guard !password.isEmpty || !confirmation.isEmpty else {
            state.passwordCheck = nil
            return
        }
        state.passwordCheck = environment.passwordPolicy.evaluate(
            Password(password),
            confirmation: confirmation.isEmpty ? nil : Password(confirmation),
            name: state.identity?.subscriber.name ?? "",
            email: state.identity?.subscriber.email ?? "",
            checkingDictionary: checkingDictionary
        )
    }

    /// Asks for the dictionary rule the keystrokes left pending (typing paused, or a password field was left), once
    /// for each version of the password; its verdict comes back as `passwordDictionaryChecked`.
    static func completePasswordCheck(_ state: inout WizardState) -> [WizardEffect] {
        guard state.passwordCheckPending else { return [] }
        state.dictionaryCheckAsked = state.passwordEdits
        return [
            .checkPasswordDictionary(
                Password(state.field(.password).text), name: state.identity?.subscriber.name ?? "",
                email: state.identity?.subscriber.email ?? "", edit: state.passwordEdits)
        ]
    }

    /// The verdict on the password as it was at `edit`; one on an older password is dropped (a newer one is coming).
    static func dictionaryChecked(_ state: inout WizardState, edit: Int, common: Bool) {
        guard edit == state.passwordEdits else { return }
        state.passwordCheck?.completeDictionary(common: common)
    }

    static func submit(_ state: inout WizardState, _ environment: WizardEnvironment) -> [WizardEffect] {
        guard let token = state.token, let identity = state.identity, !state.dead else { return [] }
        let reference: ReferenceNumber
        do {
            reference = try ReferenceNumber(parsing: state.field(.reference).text)
        } catch {
            state.notice = .error(error)
            state.focus = .field(.reference)
            return []
        }
        evaluatePassword(&state, environment)
        guard let check = state.passwordCheck, check.isAcceptable else {
            state.notice = .message(.passwordNotReady)
            state.focus = state.passwordCheck?.unmet == [.confirmationMatches] ? .field(.confirmation) : .field(.password)
            return []
        }
        state.notice = nil
        state.work = .activating(.generatingKey)
        let order = ActivationRequest(
            token: token, subscriber: identity.subscriber, reference: reference, authorization: identity.authorization,
            password: Password(state.field(.password).text), keyAlgorithm: state.keyChoice
        )
        return [.activate(order)]
    }

    /// Finishes the activation parked on this workstation: the password it was sealed under opens it;
    /// once the profile is written, the same password logs in to it.
    static func finishParked(_ state: inout WizardState) -> [WizardEffect] {
        guard let token = state.token else { return [] }
        let password = state.field(.loginPassword).text
        guard !password.isEmpty else {
            state.notice = .message(.enterPassword)
            return []
        }
        state.notice = nil
        state.work = .activating(.requestingCertificate)
        return [.finishParked(token, Password(password))]
    }

    static func activated(_ outcome: Outcome<URL>, _ state: inout WizardState) -> [WizardEffect] {
        guard case .activating = state.work else { return [] }
        state.work = nil
        // An F10 that came meanwhile ends the wizard now (`reduce`); what is printed on the way out says where the
        // profile is and how to log in to it later.
        return state.activationStage == .finishParked ? parkedFinished(outcome, &state) : formFinished(outcome, &state)
    }

    private static func parkedFinished(_ outcome: Outcome<URL>, _ state: inout WizardState) -> [WizardEffect] {
        switch outcome {
        case .success(let profile):
            state.profileFile = profile
            state.activationStage = .login
            // The password that opened the parked key logs in to the profile it became.
            state.focus = .field(.loginPassword)
            return logIn(&state)
        case .failure(let failure):
            state.fields[.loginPassword]?.wipe()
            state.notice = failure.notice
            state.focus = .field(.loginPassword)
            return []
        }
    }

    private static func formFinished(_ outcome: Outcome<URL>, _ state: inout WizardState) -> [WizardEffect] {
        switch outcome {
        case .success(let profile):
            state.profileFile = profile
            for id in [FieldID.password, .confirmation, .reference] { state.fields[id]?.wipe() }
            state.passwordCheck = nil
            state.activationStage = .login
            state.notice = .message(.profileWritten)
            focusFirst(&state)
        case .failure(let failure):
            state.notice = failure.notice
            if case .refused(let error) = failure {
                if error.endsApplication {
                    state.dead = true
                    return []
                }
                switch error.code {
                case .renewalRequired, .codesExpired:
                    state.identity?.renewalNeeded = true
                    state.identity?.renewalReason = error
                    state.step = .renewal
                    focusFirst(&state)
                    return []
                case .wrongReference, .referenceMalformed, .referenceCheckDigit:
                    state.focus = .field(.reference)
                    return []
                default:
                    break
                }
            }
        }
        return []
    }

    /// "Update now": a new key and certificate for the profile near expiry.
    static func update(_ state: inout WizardState) -> [WizardEffect] {
        guard let profile = state.summary?.profileFile ?? state.profileFile, let password = state.updatePassword else { return [] }
        state.notice = nil
        state.work = .updating
        return [.updateProfile(profile: profile, password: password)]
    }

    static func updated(_ outcome: Outcome<ActivationSummary>, _ state: inout WizardState) -> [WizardEffect] {
        guard state.work == .updating else { return [] }
        state.work = nil
        switch outcome {
        case .success(let summary):
            state.summary = summary
            state.updatePassword = nil
            state.notice = .message(.updated(until: summary.certificate.notAfter))
            focusFirst(&state)
        case .failure(let failure):
            state.notice = failure.notice
            state.focus = .button(.update)
        }
        return []
    }

    static func logIn(_ state: inout WizardState) -> [WizardEffect] {
        guard let profile = state.profileFile else { return [] }
        let password = state.field(.loginPassword).text
        guard !password.isEmpty else {
            state.notice = .message(.enterPassword)
            return []
        }
        state.notice = nil
        state.work = .loggingIn
        return [.logIn(profile: profile, password: Password(password), installProvider: state.offerProvider && state.installProvider)]
    }

    static func loggedIn(_ outcome: Outcome<ActivationSummary>, _ state: inout WizardState) -> [WizardEffect] {
        guard state.work == .loggingIn else { return [] }
        state.work = nil
        let password = state.field(.loginPassword).text
        state.fields[.loginPassword]?.wipe()
        switch outcome {
        case .success(var summary):
            if state.kiosk, let profile = state.profileFile {
                // The kiosk registers nothing: the person does it on their own workstation.
                summary.provider = .elsewhere(profileName: profile.lastPathComponent)
            }
            state.summary = summary
            state.activationStage = .summary
            if summary.updateDue {
                // "Your digital signature needs to be updated": offered here, with the password just typed.
                state.updatePassword = Password(password)
                state.notice = .message(.updateDue(until: summary.certificate.notAfter))
            } else {
                state.notice = .message(.activated)
            }
            focusFirst(&state)
        case .failure(let failure):
            state.notice = failure.notice
            state.focus = .field(.loginPassword)
        }
        return []
    }
}
