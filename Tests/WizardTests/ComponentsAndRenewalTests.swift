import AuthorityInterface
import Foundation
import ScreenModel
import Testing

@testable import Activation
@testable import Wizard

@Suite("Step 3 — required software") struct ComponentsStepTests {
    @Test func missingActivationManagerOffersInstall() {
        var store = Flow.componentsChecking()
        store.send(.componentsChecked([Fixture.managerMissing, Fixture.keystoreInstalled])) {
            $0.work = nil
            $0.components = [Fixture.managerMissing, Fixture.keystoreInstalled]
            $0.notice = .message(.componentsInstall)
            $0.focus = .button(.install)
        }
        store.key(.enter, effects: [.installActivationManager]) {
            $0.work = .installing
            $0.notice = nil
        }
        store.send(.activationManagerInstalled(.success(true)), effects: [.checkComponents]) { $0.work = .checkingComponents }
        store.send(.componentsChecked([Fixture.managerInstalled, Fixture.keystoreInstalled])) {
            $0.work = nil
            $0.components = [Fixture.managerInstalled, Fixture.keystoreInstalled]
            $0.notice = .message(.componentsReady)
            $0.focus = .button(.next)
        }
    }

    @Test func nextIsRefusedUntilEverythingIsInstalled() {
        var store = Flow.components([Fixture.managerMissing, Fixture.keystoreInstalled])
        store.key(.backTab) { $0.focus = .button(.next) }
        store.key(.enter) { $0.notice = .message(.componentsNotReady) }
        #expect(store.state.step == .components)
    }

    @Test func aFailedInstallSaysWhy() {
        var store = Flow.components([Fixture.managerMissing, Fixture.keystoreInstalled])
        store.drive(.key(.enter))
        let failure = Failure.other(messageKey: "workstation.error.trustStore", arguments: ["detail": "read-only file system"])
        store.send(.activationManagerInstalled(.failure(failure))) {
            $0.work = nil
            $0.notice = .error("workstation.error.trustStore", ["detail": "read-only file system"])
        }
    }

    @Test func aBrokenKeystorePointsToTheInstructions() {
        var store = Flow.componentsChecking()
        store.send(.componentsChecked([Fixture.managerInstalled, Fixture.keystoreFailed])) {
            $0.work = nil
            $0.components = [Fixture.managerInstalled, Fixture.keystoreFailed]
            $0.notice = .message(.componentBroken(.keystoreProvider))
            $0.focus = .button(.recheck)
        }
        #expect(focusOrder(store.state) == [.button(.recheck), .button(.next)])
        store.key(.enter, effects: [.checkComponents]) { $0.work = .checkingComponents }
    }

    @Test func validCodesGoStraightToStep5() {
        var store = Flow.components([Fixture.managerInstalled, Fixture.keystoreInstalled])
        store.key(.enter) {
            $0.step = .activation
            $0.notice = .message(.codesValid(until: Fixture.expiresAt))
            $0.focus = .field(.reference)
        }
        #expect(store.state.notice?.text(Localizer(.en)).contains("2026-11-25 09:00 UTC") == true)
    }

    /// Issue 10.8: a message that carries a date shows it the way the language of the moment writes it.
    @Test func f2RewritesTheDateOfTheMessage() {
        var store = Flow.components([Fixture.managerInstalled, Fixture.keystoreInstalled])
        store.drive(.key(.enter))
        let before = store.state.language
        store.drive(.key(.function(2)))
        #expect(store.state.language == before.other)
        let text = store.state.notice?.text(store.state.localizer) ?? ""
        switch store.state.language {
        case .en: #expect(text.contains("2026-11-25 09:00 UTC"), "\(text)")
        case .fr: #expect(text.contains("2026-11-25 09 h 00 UTC"), "\(text)")
        }
    }

    @Test func expiredCodesGoToStep4() {
        var store = Flow.components([Fixture.managerInstalled, Fixture.keystoreInstalled], expired: true)
        store.key(.enter) {
            // The screen says the codes expired; the message line does not repeat it.
            $0.step = .renewal
            $0.notice = nil
            $0.focus = .button(.renew)
        }
    }
}

@Suite("Step 4 — renewal of activation codes") struct RenewalStepTests {
    @Test func renewalReplacesTheCodes() {
        var store = Flow.renewal()
        store.key(.enter, effects: [.renewCodes(Fixture.token, Fixture.authorization)]) {
            $0.work = .renewing
            $0.notice = nil
        }
        store.send(.renewed(.success(Fixture.receipt))) {
            $0.work = nil
            $0.renewal = Fixture.receipt
            $0.identity?.authorization = Fixture.renewedAuthorization
            $0.identity?.codesIssuedAt = Fixture.renewedAt
            $0.identity?.codesExpireAt = Fixture.renewedExpiresAt
            $0.identity?.renewalNeeded = false
            $0.identity?.renewalReason = nil
            $0.notice = .message(.renewed(email: "j•••@example.com"))
            $0.focus = .button(.next)
        }
        store.key(.enter) {
            $0.step = .activation
            $0.notice = .message(.useNewReference(email: "j•••@example.com"))
            $0.focus = .field(.reference)
        }
    }

    @Test func theRenewalLimitSaysWhenToRetry() {
        var store = Flow.renewal()
        store.drive(.key(.enter))
        let error = ActivationError(.renewalLimit(nextAllowedAt: Fixture.nextRenewal))
        store.send(.renewed(.failure(.refused(error)))) {
            $0.work = nil
            $0.notice = .error(error)
        }
        #expect(error.message(in: .en).contains("2026-12-02 08:15 UTC"))
        // Still on step 4, the button still there.
        store.key(.enter, effects: [.renewCodes(Fixture.token, Fixture.authorization)]) {
            $0.work = .renewing
            $0.notice = nil
        }
    }

    @Test func aStaleReferenceIsWipedByTheRenewal() {
        // Step 5 refused the codes as expired: back to 4 with the old number still typed.
        var store = Flow.activation()
        store.drive(
            .text("314-159-266"), .key(.tab), .text(Fixture.password), .key(.tab), .text(Fixture.password), .key(.enter),
            .activated(.failure(.refused(ActivationError(.codesExpired(expiredAt: Fixture.expiresAt))))), .key(.enter))
        #expect(store.state.work == .renewing)
        store.send(.renewed(.success(Fixture.receipt))) {
            $0.work = nil
            $0.renewal = Fixture.receipt
            $0.identity?.authorization = Fixture.renewedAuthorization
            $0.identity?.codesIssuedAt = Fixture.renewedAt
            $0.identity?.codesExpireAt = Fixture.renewedExpiresAt
            $0.identity?.renewalNeeded = false
            $0.identity?.renewalReason = nil
            $0.fields[.reference] = filled(.reference, "")
            $0.notice = .message(.renewed(email: "j•••@example.com"))
            $0.focus = .button(.next)
        }
    }
}
