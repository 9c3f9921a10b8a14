import Activation
import AuthorityInterface

/// Step 4 — renewal of expired (or blocked) activation codes.
enum RenewalStep {
    static func renew(_ state: inout WizardState) -> [WizardEffect] {
        guard let token = state.token, let identity = state.identity, identity.renewalNeeded else { return [] }
        state.notice = nil
        state.work = .renewing
        return [.renewCodes(token, identity.authorization)]
    }

    static func renewed(_ outcome: Outcome<RenewalReceipt>, _ state: inout WizardState) -> [WizardEffect] {
        guard state.work == .renewing else { return [] }
        state.work = nil
        switch outcome {
        case .failure(let failure):
            state.notice = failure.notice
        case .success(let receipt):
            state.renewal = receipt
            state.identity?.authorization = receipt.authorization
            state.identity?.codesIssuedAt = receipt.issuedAt
            state.identity?.codesExpireAt = receipt.expiresAt
            state.identity?.renewalNeeded = false
            state.identity?.renewalReason = nil
            state.fields[.reference]?.wipe()
            state.notice = .message(.renewed(email: receipt.maskedEmail))
            focusFirst(&state)
        }
        return []
    }

    static func next(_ state: inout WizardState) -> [WizardEffect] {
        guard let identity = state.identity else { return [] }
        if identity.renewalNeeded {
            state.notice = .message(.renewFirst)
            return []
        }
        state.step = .activation
        state.activationStage = .form
        state.notice = state.renewal.map { .message(.useNewReference(email: $0.maskedEmail)) }
        focusFirst(&state)
        return []
    }
}
