import AuthorityInterface
import Foundation
import ScreenModel
import Testing

@testable import Activation
@testable import Wizard

/// The rules as the screen ticks them, in display order.
///
/// `pending`: the dictionary rule was not run yet (keystrokes leave it for a pause, or for the field to be left).
func rules(length: Bool, personal: Bool, common: Bool, confirmed: Bool, maximum: Bool = true, pending: Bool = false) -> PasswordCheck {
    PasswordCheck(
        rules: [
            (.minimumLength, length), (.maximumLength, maximum), (.notNameOrEmail, personal), (.notCommon, common),
            (.confirmationMatches, confirmed),
        ], dictionaryPending: pending)
}

/// The dictionary rule asked for `password` as it was at `edit`.
func dictionaryCheck(_ password: String, edit: Int) -> WizardEffect {
    .checkPasswordDictionary(Password(password), name: Fixture.subscriber.name, email: Fixture.subscriber.email, edit: edit)
}

@Suite("Step 5 — activation of the digital certificate") struct ActivationStepTests {
    @Test func aReferenceTypoIsCaughtBeforeAnyLookup() {
        var store = Flow.activation()
        store.send(.text(Fixture.referenceTypo)) { $0.fields[.reference] = filled(.reference, Fixture.referenceTypo) }
        // Refused as soon as it is entered (its check digit needs no authority): focus stays on it.
        store.key(.tab) { $0.notice = .error(ActivationError(.referenceCheckDigit)) }
        store.key(.backTab)
        // Once right, the message about it goes at once (issue 10.7) and focus moves on.
        store.key(.control("u")) { $0.fields[.reference] = filled(.reference, "") }
        store.send(.text(Fixture.reference.formatted)) {
            $0.fields[.reference] = filled(.reference, Fixture.reference.formatted)
            $0.notice = nil
        }
        store.key(.tab) { $0.focus = .field(.password) }
        store.key(.backTab) { $0.focus = .field(.reference) }
        store.key(.control("u")) { $0.fields[.reference] = filled(.reference, "") }
        store.send(.text(Fixture.referenceTypo)) { $0.fields[.reference] = filled(.reference, Fixture.referenceTypo) }
        // Typed again, the typo is caught by Enter too, before any lookup.
        store.key(.down) { $0.notice = .error(ActivationError(.referenceCheckDigit)) }
        store.send(.focus(.field(.password))) { $0.focus = .field(.password) }
        store.send(.text(Fixture.password)) {
            $0.fields[.password] = filled(.password, Fixture.password)
            $0.passwordEdits = 1
            $0.passwordCheck = rules(length: true, personal: true, common: false, confirmed: false, pending: true)
        }
        // Leaving the field asks for the dictionary rule.
        store.key(.tab, effects: [dictionaryCheck(Fixture.password, edit: 1)]) {
            $0.focus = .field(.confirmation)
            $0.dictionaryCheckAsked = 1
        }
        store.send(.passwordDictionaryChecked(edit: 1, common: false)) {
            $0.passwordCheck = rules(length: true, personal: true, common: true, confirmed: false)
        }
        store.send(.text(Fixture.password)) {
            $0.fields[.confirmation] = filled(.confirmation, Fixture.password)
            $0.passwordEdits = 2
            $0.passwordCheck = rules(length: true, personal: true, common: false, confirmed: true, pending: true)
        }
        // Enter never waits for it: the whole policy runs (the confirmation field is left too: asked, then dropped).
        store.key(.enter, effects: [dictionaryCheck(Fixture.password, edit: 2)]) {
            $0.dictionaryCheckAsked = 2
            $0.notice = .error(ActivationError(.referenceCheckDigit))
            $0.focus = .field(.reference)
        }
    }

    @Test func aShortReferenceIsMalformed() {
        var store = Flow.activation()
        store.send(.text("482 157")) { $0.fields[.reference] = filled(.reference, "482 157") }
        store.key(.enter) { $0.notice = .error(ActivationError(.referenceMalformed)) }
    }

    @Test func passwordRulesTickWhileTyping() {
        var store = Flow.activation()
        func check(_ password: String, edit: Int) -> WizardEffect { dictionaryCheck(password, edit: edit) }
        store.key(.tab) { $0.focus = .field(.password) }
        store.key(.character("T")) {
            $0.fields[.password] = filled(.password, "T")
            $0.passwordEdits = 1
            $0.passwordCheck = rules(length: false, personal: true, common: false, confirmed: false)
        }
        // The cheap rules tick on each keystroke; the dictionary (cracklib) waits for a pause in typing, then runs off
        // the loop, once for this password; its verdict ticks the rule.
        store.send(.text("remblay-Orage-47")) {
            $0.fields[.password] = filled(.password, "Tremblay-Orage-47")
            $0.passwordEdits = 2
            $0.passwordCheck = rules(length: true, personal: false, common: false, confirmed: false, pending: true)
        }
        store.send(.typingPaused, effects: [check("Tremblay-Orage-47", edit: 2)]) { $0.dictionaryCheckAsked = 2 }
        store.send(.typingPaused)
        store.send(.passwordDictionaryChecked(edit: 2, common: false)) {
            $0.passwordCheck = rules(length: true, personal: false, common: true, confirmed: false)
        }
        store.key(.control("u")) {
            $0.fields[.password] = filled(.password, "")
            $0.passwordEdits = 3
            $0.passwordCheck = nil
        }
        store.send(.text("password1234")) {
            $0.fields[.password] = filled(.password, "password1234")
            $0.passwordEdits = 4
            $0.passwordCheck = rules(length: true, personal: true, common: false, confirmed: false, pending: true)
        }
        store.send(.typingPaused, effects: [check("password1234", edit: 4)]) { $0.dictionaryCheckAsked = 4 }
        // A verdict on an older password is dropped.
        store.send(.passwordDictionaryChecked(edit: 2, common: false))
        store.send(.passwordDictionaryChecked(edit: 4, common: true)) {
            $0.passwordCheck = rules(length: true, personal: true, common: false, confirmed: false)
        }
        store.key(.control("u")) {
            $0.fields[.password] = filled(.password, "")
            $0.passwordEdits = 5
            $0.passwordCheck = nil
        }
        store.send(.text(Fixture.password)) {
            $0.fields[.password] = filled(.password, Fixture.password)
            $0.passwordEdits = 6
            $0.passwordCheck = rules(length: true, personal: true, common: false, confirmed: false, pending: true)
        }
        // Leaving the field asks for it too.
        store.key(.tab, effects: [check(Fixture.password, edit: 6)]) {
            $0.focus = .field(.confirmation)
            $0.dictionaryCheckAsked = 6
        }
        store.send(.passwordDictionaryChecked(edit: 6, common: false)) {
            $0.passwordCheck = rules(length: true, personal: true, common: true, confirmed: false)
        }
        store.send(.text(String(Fixture.password.dropLast()))) {
            $0.fields[.confirmation] = filled(.confirmation, String(Fixture.password.dropLast()))
            $0.passwordEdits = 7
            $0.passwordCheck = rules(length: true, personal: true, common: false, confirmed: false, pending: true)
        }
        store.key(.character("7")) {
            $0.fields[.confirmation] = filled(.confirmation, Fixture.password)
            $0.passwordEdits = 8
            $0.passwordCheck = rules(length: true, personal: true, common: false, confirmed: true, pending: true)
        }
        store.key(.backspace) {
            $0.fields[.confirmation] = filled(.confirmation, String(Fixture.password.dropLast()))
            $0.passwordEdits = 9
            $0.passwordCheck = rules(length: true, personal: true, common: false, confirmed: false, pending: true)
        }
    }

    @Test func submitIsRefusedWhileARuleIsUnmet() {
        var store = Flow.activation()
        store.drive(.text(Fixture.reference.formatted), .key(.tab), .text("Vert-Orage"), .key(.tab))
        store.key(.enter) {
            $0.notice = .message(.passwordNotReady)
            $0.focus = .field(.password)
        }
        store.key(.end)
        store.send(.text("-Piano-47")) {
            $0.fields[.password] = filled(.password, Fixture.password)
            $0.passwordEdits = 2
            $0.passwordCheck = rules(length: true, personal: true, common: false, confirmed: false, pending: true)
        }
        // "Download and Activate" never skips the dictionary; only the confirmation is missing: focus goes there.
        store.key(.enter) {
            $0.focus = .field(.confirmation)
            $0.passwordCheck = rules(length: true, personal: true, common: true, confirmed: false)
        }
    }

    @Test func downloadAndActivateOrdersTheActivation() {
        var store = Flow.activation()
        store.drive(.text(" 482 157-304 "), .key(.tab), .text(Fixture.password), .key(.tab), .text(Fixture.password))
        // Leaving the confirmation asks for the dictionary rule the keystrokes left pending.
        store.key(.tab, effects: [dictionaryCheck(Fixture.password, edit: 2)]) {
            $0.focus = .keyChoice
            $0.dictionaryCheckAsked = 2
        }
        store.send(.passwordDictionaryChecked(edit: 2, common: false)) {
            $0.passwordCheck = rules(length: true, personal: true, common: true, confirmed: true)
        }
        store.key(.left) { $0.keyChoice = .p256 }
        store.key(.character(" ")) { $0.keyChoice = .rsa2048 }
        store.key(.right) { $0.keyChoice = .rsa3072 }
        store.key(.tab) { $0.focus = .button(.activate) }
        let order = ActivationRequest(
            token: Fixture.token, subscriber: Fixture.subscriber, reference: Fixture.reference,
            authorization: Fixture.authorization, password: Password(Fixture.password), keyAlgorithm: .rsa3072)
        store.key(.enter, effects: [.activate(order)]) {
            $0.work = .activating(.generatingKey)
            $0.notice = nil
        }
        store.send(.progressed(.requestingCertificate)) { $0.work = .activating(.requestingCertificate) }
        store.send(.progressed(.writingProfile)) { $0.work = .activating(.writingProfile) }
        store.send(.activated(.success(Fixture.profileFile))) {
            $0.work = nil
            $0.profileFile = Fixture.profileFile
            $0.activationStage = .login
            for id in [FieldID.reference, .password, .confirmation] { $0.fields[id] = filled(id, "") }
            $0.passwordCheck = nil
            $0.notice = .message(.profileWritten)
            $0.focus = .field(.loginPassword)
        }
    }

    @Test func aWrongReferenceLetsThePersonRetry() {
        var store = Flow.activating()
        let error = ActivationError(.wrongReference(remaining: 4))
        store.send(.activated(.failure(.refused(error)))) {
            $0.work = nil
            $0.notice = .error(error)
            $0.focus = .field(.reference)
        }
        #expect(store.state.step == .activation && store.state.activationStage == .form)
    }

    @Test(arguments: [ActivationError(.renewalRequired), ActivationError(.codesExpired(expiredAt: Fixture.expiresAt))])
    func refusedCodesSendBackToRenewal(error: ActivationError) {
        var store = Flow.activating()
        store.send(.activated(.failure(.refused(error)))) {
            $0.work = nil
            $0.notice = .error(error)
            $0.step = .renewal
            $0.identity?.renewalNeeded = true
            $0.identity?.renewalReason = error
            $0.focus = .button(.renew)
        }
    }

    @Test func usedCodesEndTheActivation() {
        var store = Flow.activating()
        let error = ActivationError(.codesUsed)
        store.send(.activated(.failure(.refused(error)))) {
            $0.work = nil
            $0.notice = .error(error)
            $0.dead = true
        }
        // No new key pair and no new request for codes that cannot work.
        store.key(.enter)
        store.key(.tab) { $0.focus = .keyChoice }
        store.key(.enter)
    }

    @Test func logInShowsTheSummary() {
        var store = Flow.login()
        store.key(.enter) { $0.notice = .message(.enterPassword) }
        store.send(.text("Wrong-Password-1")) { $0.fields[.loginPassword] = filled(.loginPassword, "Wrong-Password-1") }
        store.key(.enter, effects: [.logIn(profile: Fixture.profileFile, password: Password("Wrong-Password-1"), installProvider: false)]) {
            $0.work = .loggingIn
            $0.notice = nil
        }
        let failure = Failure.other(messageKey: "cli.error.keystore.wrongPassword", arguments: [:])
        store.send(.loggedIn(.failure(failure))) {
            $0.work = nil
            $0.notice = .error("cli.error.keystore.wrongPassword")
            $0.fields[.loginPassword] = filled(.loginPassword, "")
        }
        store.send(.text(Fixture.password)) { $0.fields[.loginPassword] = filled(.loginPassword, Fixture.password) }
        store.key(.tab) { $0.focus = .button(.login) }
        store.key(.enter, effects: [.logIn(profile: Fixture.profileFile, password: Password(Fixture.password), installProvider: false)]) {
            $0.work = .loggingIn
            $0.notice = nil
        }
        store.send(.loggedIn(.success(Fixture.summary))) {
            $0.work = nil
            $0.fields[.loginPassword] = filled(.loginPassword, "")
            $0.summary = Fixture.summary
            $0.activationStage = .summary
            $0.notice = .message(.activated)
            $0.focus = .button(.finish)
        }
        store.key(.enter) { $0.ending = .quit }
    }

    @Test func theLogInOffersToMakeTheSignatureAvailableToTheApplications() {
        var store = Flow.login()
        store.state.offerProvider = true
        store.send(.text(Fixture.password)) { $0.fields[.loginPassword] = filled(.loginPassword, Fixture.password) }
        store.key(.tab) { $0.focus = .installProvider }
        store.key(.character(" ")) { $0.installProvider = false }
        store.key(.enter) { $0.installProvider = true }
        store.key(.tab) { $0.focus = .button(.login) }
        store.key(.enter, effects: [.logIn(profile: Fixture.profileFile, password: Password(Fixture.password), installProvider: true)]) {
            $0.work = .loggingIn
            $0.notice = nil
        }
        // Unticked, the log-in registers nothing.
        var declined = Flow.login()
        declined.state.offerProvider = true
        declined.state.installProvider = false
        declined.send(.text(Fixture.password)) { $0.fields[.loginPassword] = filled(.loginPassword, Fixture.password) }
        declined.key(.enter, effects: [.logIn(profile: Fixture.profileFile, password: Password(Fixture.password), installProvider: false)]) {
            $0.work = .loggingIn
            $0.notice = nil
        }
    }

    @Test func aKioskNeverOffersItAndItsSummarySaysWhereToDoIt() {
        let login = Flow.login(kiosk: true)
        #expect(!focusOrder(login.state).contains(.installProvider))
        let store = Flow.summary(kiosk: true)
        #expect(store.state.summary?.provider == .elsewhere(profileName: Fixture.profileFile.lastPathComponent))
    }

    @Test func inKioskModeTheSummaryMakesRoomForTheNextPerson() {
        var store = Flow.summary(kiosk: true)
        store.key(.enter) { $0 = WizardState(language: .en, languageChosen: true, kiosk: true) }
    }
}
