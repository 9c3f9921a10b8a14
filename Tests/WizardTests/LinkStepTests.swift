import AuthorityInterface
import Foundation
import ScreenModel
import Testing

@testable import Activation
@testable import Wizard

@Suite("Step 1 — approval email") struct LinkStepTests {
    @Test func malformedLinkSaysSoAndStays() {
        var store = Store()
        store.send(.text("https://activation.paraphe.example/activate/7K2M-Q9XD")) {
            $0.fields[.link] = filled(.link, "https://activation.paraphe.example/activate/7K2M-Q9XD")
        }
        store.key(.enter) { $0.notice = .error(ActivationError(.linkMalformed)) }
        // From the Next button too: focus goes back to the field.
        store.key(.tab) { $0.focus = .button(.next) }
        store.key(.enter) { $0.focus = .field(.link) }
    }

    @Test(arguments: [
        (
            "  https://activation.paraphe.example/activate/7K2M-Q9XD-\n4HPA-VT3R \r\n",
            "  https://activation.paraphe.example/activate/7K2M-Q9XD-4HPA-VT3R "
        ),
        ("7k2m-q9xd-4hpa-vt3r", "7k2m-q9xd-4hpa-vt3r"),
        ("<https://activation.paraphe.example/activate/7K2M-Q9XD-4HPA-VT3R>", "<https://activation.paraphe.example/activate/7K2M-Q9XD-4HPA-VT3R>"),
    ])
    func validLinkLooksTheApplicationUp(pasted: String, kept: String) {
        var store = Store()
        store.send(.text(pasted)) { $0.fields[.link] = filled(.link, kept) }
        store.key(.enter, effects: [.lookUp(Fixture.token)]) { $0.work = .lookingUp }
    }

    @Test func aNewSubmissionClearsTheOldError() {
        var store = Store()
        store.drive(.text("nope"), .key(.enter))
        #expect(store.state.notice != nil)
        store.key(.control("u")) { $0.fields[.link] = filled(.link, "") }
        // Issue 10.7: the field holds a valid link now, so "not an activation link" goes at once.
        store.send(.text(Fixture.link)) {
            $0.fields[.link] = filled(.link, Fixture.link)
            $0.notice = nil
        }
        store.key(.enter, effects: [.lookUp(Fixture.token)]) { $0.work = .lookingUp }
    }

    @Test func foundApplicationGoesToStep2InItsLanguage() {
        var store = Store(language: .en)
        store.drive(.text(Fixture.link), .key(.enter))
        store.send(.lookedUp(.success(ApplicationLookup(overview: Fixture.overview(language: .fr), local: .none)))) {
            $0.work = nil
            $0.language = .fr
            $0.step = .identity
            $0.token = Fixture.token
            $0.overview = Fixture.overview(language: .fr)
            $0.focus = .field(.answer1)
        }
    }

    @Test func aChosenLanguageIsKept() {
        var store = Store(language: .en, languageChosen: true)
        store.drive(.text(Fixture.link), .key(.enter))
        store.send(.lookedUp(.success(ApplicationLookup(overview: Fixture.overview(language: .fr, remaining: 3), local: .none)))) {
            $0.work = nil
            $0.step = .identity
            $0.token = Fixture.token
            $0.overview = Fixture.overview(language: .fr, remaining: 3)
            $0.focus = .field(.answer1)
            // Earlier failures are counted with the application: say what is left.
            $0.notice = .message(.attemptsRemaining(3))
        }
    }

    @Test(arguments: [
        (ApplicationStatus.activated, ActivationError.Code.alreadyActivated),
        (.identityLocked, .identityLocked),
        (.revoked, .revoked),
    ])
    func applicationThatCannotBeActivatedStops(status: ApplicationStatus, code: ActivationError.Code) {
        var store = Store(language: .en)
        store.drive(.text(Fixture.link), .key(.enter))
        store.send(.lookedUp(.success(ApplicationLookup(overview: Fixture.overview(language: .fr, status: status), local: .none)))) {
            $0.work = nil
            $0.notice = .error(ActivationError(code))
        }
        // Never goes on: Enter only looks the same link up again.
        store.key(.enter, effects: [.lookUp(Fixture.token)]) {
            $0.work = .lookingUp
            $0.notice = nil
        }
    }

    @Test func unknownApplicationSaysSo() {
        var store = Store()
        store.drive(.text(Fixture.link), .key(.tab))
        store.key(.enter, effects: [.lookUp(Fixture.token)]) { $0.work = .lookingUp }
        store.send(.lookedUp(.failure(.refused(ActivationError(.unknownApplication))))) {
            $0.work = nil
            $0.notice = .error(ActivationError(.unknownApplication))
            $0.focus = .field(.link)
        }
    }

    @Test func aLateResultIsIgnored() {
        var store = Store()
        store.send(.lookedUp(.success(ApplicationLookup(overview: Fixture.overview(), local: .none))))
        store.send(.identityChecked(.success(Fixture.identity())))
        store.send(.componentsChecked([Fixture.managerInstalled]))
        store.send(.renewed(.success(Fixture.receipt)))
        store.send(.activated(.success(Fixture.profileFile)))
        store.send(.loggedIn(.success(Fixture.summary)))
        store.send(.progressed(.writingProfile))
    }
}

@Suite("Step 1 — recover my digital signature") struct RecoveryFormTests {
    @Test func theFormAsksAnAddressSendsItAndSaysTheSameWhateverTheAnswer() {
        var store = Store()
        store.send(.focus(.button(.recover))) { $0.focus = .button(.recover) }
        store.key(.enter) {
            $0.recoveryForm = true
            $0.notice = .message(.recoveryIntro)
            $0.focus = .field(.recoveryEmail)
        }
        // Not an address: said at once, nothing sent.
        store.send(.text("jeanne")) { $0.fields[.recoveryEmail] = filled(.recoveryEmail, "jeanne") }
        store.key(.enter) { $0.notice = .message(.recoveryEmailInvalid) }
        store.send(.text("@example.com")) { $0.fields[.recoveryEmail] = filled(.recoveryEmail, "jeanne@example.com") }
        store.key(.enter, effects: [.requestRecovery(email: "jeanne@example.com")]) {
            $0.notice = nil
            $0.work = .requestingRecovery
        }
        // The authority's answer says nothing of the address; the form closes, the link is asked.
        store.send(.recoveryRequested(.success(true))) {
            $0.work = nil
            $0.recoveryForm = false
            $0.fields[.recoveryEmail] = nil
            $0.notice = .message(.recoverySent)
            $0.focus = .field(.link)
        }
    }

    @Test func escClosesTheFormAndANetworkFailureKeepsTheAddress() {
        var store = Store()
        store.drive(.focus(.button(.recover)), .key(.enter), .text("jeanne@example.com"), .key(.enter))
        let failure = Failure.network(AuthorityConnectionError(.unreachable, "x"))
        #expect(failure.notice.offersRetry, "an unreachable authority may answer a retry")
        store.send(.recoveryRequested(.failure(failure))) {
            $0.work = nil
            $0.notice = failure.notice
            $0.focus = .field(.recoveryEmail)
        }
        #expect(store.state.field(.recoveryEmail).text == "jeanne@example.com", "nothing typed is lost")
        store.key(.escape) {
            $0.recoveryForm = false
            $0.fields[.recoveryEmail] = nil
            $0.focus = .field(.link)
        }
    }

    /// Issue 22, hole 5: with a networked authority nothing vouches for, the link is not sent: step 1 shows the
    /// fingerprint the authority's CA has; trusting it sends the link; Esc sends nothing.
    @Test func anUnpinnedAuthorityIsConfirmedBeforeTheLinkGoes() {
        var store = Store(language: .en)
        store.drive(.text(Fixture.link), .key(.enter))
        store.send(.authorityUnconfirmed(fingerprint: Fixture.fingerprint)) {
            $0.work = nil
            $0.authorityToConfirm = Fixture.fingerprint
            $0.notice = .message(.confirmAuthority)
            $0.focus = .button(.trustAuthority)
        }
        // Esc: back to the link as typed, nothing trusted, nothing sent.
        store.key(.escape) {
            $0.authorityToConfirm = nil
            $0.notice = nil
            $0.focus = .field(.link)
        }
        store.key(.enter, effects: [.lookUp(Fixture.token)]) { $0.work = .lookingUp }
        store.send(.authorityUnconfirmed(fingerprint: Fixture.fingerprint)) {
            $0.work = nil
            $0.authorityToConfirm = Fixture.fingerprint
            $0.notice = .message(.confirmAuthority)
            $0.focus = .button(.trustAuthority)
        }
        store.key(.enter, effects: [.trustAuthority(fingerprint: Fixture.fingerprint)]) { $0.work = .trustingAuthority }
        store.send(.authorityTrusted(.success(true)), effects: [.lookUp(Fixture.token)]) {
            $0.authorityToConfirm = nil
            $0.notice = nil
            $0.focus = .field(.link)
            $0.work = .lookingUp
        }
        // Plain mode asks yes or no for it, never taking a blank line as yes (PlainSession).
        var plain = Store(language: .en)
        plain.drive(.text(Fixture.link), .key(.enter), .authorityUnconfirmed(fingerprint: Fixture.fingerprint))
        #expect(lineStep(plain.state) == .confirm(.trustAuthority, declined: .refused))
    }
}
