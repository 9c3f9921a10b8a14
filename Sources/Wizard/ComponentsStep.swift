import Activation

/// Step 3 — the required local components, checked on entry.
enum ComponentsStep {
    static func checked(_ reports: [ComponentReport], _ state: inout WizardState) -> [WizardEffect] {
        guard state.work == .checkingComponents else { return [] }
        state.work = nil
        state.components = reports
        if reports.allInstalled {
            state.notice = .message(.componentsReady)
        } else if let broken = reports.first(where: { !$0.status.isInstalled && !$0.installable }) {
            // The activation manager is only uninstallable when the profile folder is fixed (kiosk
            // `--profile-dir`) and missing or read-only: nothing Paraphe may write elsewhere helps.
            state.notice =
                broken.kind == .activationManager
                ? .message(.profileFolderUnavailable)
                : .message(.componentBroken(broken.kind))
        } else {
            state.notice = .message(.componentsInstall)
        }
        if reports.allInstalled {
            state.focus = .button(.next)
        } else {
            focusFirst(&state)
        }
        return []
    }

    static func install(_ state: inout WizardState) -> [WizardEffect] {
        state.notice = nil
        state.work = .installing
        return [.installActivationManager]
    }

    static func installed(_ outcome: Outcome<Bool>, _ state: inout WizardState) -> [WizardEffect] {
        guard state.work == .installing else { return [] }
        switch outcome {
        case .failure(let failure):
            state.work = nil
            state.notice = failure.notice
            return []
        case .success:
            state.work = .checkingComponents
            return [.checkComponents]
        }
    }

    static func recheck(_ state: inout WizardState) -> [WizardEffect] {
        state.work = .checkingComponents
        return [.checkComponents]
    }

    /// "Next" is refused until every check passes; then step 4, or straight to step 5 when the
    /// codes are still valid (step 4 then only says until when).
    static func next(_ state: inout WizardState) -> [WizardEffect] {
        guard state.components.allInstalled else {
            state.notice = .message(.componentsNotReady)
            return []
        }
        guard let identity = state.identity else { return [] }
        if identity.renewalNeeded {
            state.step = .renewal
            // The screen itself says why (expired, or too many wrong reference numbers).
            state.notice = nil
        } else {
            state.step = .activation
            state.activationStage = .form
            state.notice = .message(.codesValid(until: identity.codesExpireAt))
        }
        focusFirst(&state)
        return []
    }
}
