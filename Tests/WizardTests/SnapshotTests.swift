import AuthorityInterface
import Foundation
import ScreenModel
import Testing
import WizardRendering

@testable import Activation
@testable import Wizard

/// A fixed moment for the kiosk snapshots' ticks.
let kioskStart = Date(timeIntervalSince1970: 1_796_205_600)

/// One screen in one state, drawn in both languages.
struct ScreenCase: Sendable, CustomTestStringConvertible {
    let name: String
    let width: Int
    let height: Int
    let make: @Sendable (Language) -> WizardState

    init(_ name: String, width: Int = 80, height: Int = 24, _ make: @escaping @Sendable (Language) -> WizardState) {
        self.name = name
        self.width = width
        self.height = height
        self.make = make
    }

    var testDescription: String { name }

    func screen(_ language: Language) -> Screen { render(make(language), width: width, height: height) }

    static func after(_ store: Store, _ events: WizardEvent...) -> WizardState {
        var store = store
        for event in events { store.drive(event) }
        return store.state
    }

    static let all: [ScreenCase] = [
        ScreenCase("1-link-empty") { Store(language: $0, languageChosen: true).state },
        ScreenCase("1-link-error") {
            after(Store(language: $0, languageChosen: true), .text("https://activation.paraphe.example/activate/7K2M-Q9XD"), .key(.enter))
        },
        ScreenCase("1-link-activated") {
            after(
                Store(language: $0, languageChosen: true), .text(Fixture.link), .key(.enter),
                .lookedUp(.success(ApplicationLookup(overview: Fixture.overview(language: $0, status: .activated), local: .none))))
        },
        ScreenCase("1-authority-confirm") {
            after(
                Store(language: $0, languageChosen: true), .text(Fixture.link), .key(.enter), .authorityUnconfirmed(fingerprint: Fixture.fingerprint))
        },
        ScreenCase("1-recovery-form") {
            after(Store(language: $0, languageChosen: true), .focus(.button(.recover)), .key(.enter), .text("jeanne.tremblay@example.com"))
        },
        ScreenCase("1-recovery-sent") {
            after(
                Store(language: $0, languageChosen: true), .focus(.button(.recover)), .key(.enter), .text("jeanne.tremblay@example.com"),
                .key(.enter), .recoveryRequested(.success(true)))
        },
        ScreenCase("2-identity-fresh") { Flow.identity(language: $0).state },
        ScreenCase("2-identity-typing") { after(Flow.identity(language: $0), .text("Filou"), .key(.tab), .text("Montréal")) },
        ScreenCase("2-identity-wrong") {
            after(
                Flow.identity(language: $0), .text("Filou"), .key(.tab), .text("Québec"), .key(.tab), .text("Lada"), .key(.enter),
                .identityChecked(.failure(.refused(ActivationError(.wrongAnswers(remaining: 3))))))
        },
        ScreenCase("2-identity-locked") {
            after(
                Flow.identity(language: $0), .text("Filou"), .key(.tab), .text("Québec"), .key(.tab), .text("Lada"), .key(.enter),
                .identityChecked(.failure(.refused(ActivationError(.identityLocked)))))
        },
        ScreenCase("3-components-checking") { Flow.componentsChecking(language: $0).state },
        ScreenCase("3-components-missing") { Flow.components([Fixture.managerMissing, Fixture.keystoreInstalled], language: $0).state },
        ScreenCase("3-components-ready") { Flow.components([Fixture.managerInstalled, Fixture.keystoreInstalled], language: $0).state },
        ScreenCase("3-components-keystore-failed") { Flow.components([Fixture.managerInstalled, Fixture.keystoreFailed], language: $0).state },
        ScreenCase("4-renewal-expired") { Flow.renewal(language: $0).state },
        ScreenCase("4-renewal-renewed") { after(Flow.renewal(language: $0), .key(.enter), .renewed(.success(Fixture.receipt))) },
        ScreenCase("4-renewal-valid") { after(Flow.activation(language: $0), .key(.escape)) },
        ScreenCase("4-renewal-blocked") {
            after(Flow.activating(language: $0), .activated(.failure(.refused(ActivationError(.renewalRequired)))))
        },
        ScreenCase("5-activation-wrong-reference") {
            after(Flow.activating(language: $0), .activated(.failure(.refused(ActivationError(.wrongReference(remaining: 4))))))
        },
        ScreenCase("5-activation-form") {
            after(Flow.activation(language: $0), .text("482 157 304"), .key(.tab), .text("Vert-Orage"))
        },
        ScreenCase("5-activation-progress") { after(Flow.activating(language: $0), .progressed(.requestingCertificate)) },
        ScreenCase("5-activation-login") { after(Flow.login(language: $0), .text("Vert")) },
        ScreenCase("5-activation-summary") { Flow.summary(language: $0).state },
        ScreenCase("5-activation-summary-kiosk") { Flow.summary(language: $0, kiosk: true).state },
        ScreenCase("5-activation-login-offer") {
            var state = after(Flow.login(language: $0), .text("Vert"))
            state.offerProvider = true
            state.focus = .installProvider
            return state
        },
        ScreenCase("5-activation-summary-provider") {
            var state = Flow.summary(language: $0).state
            state.summary?.provider = .registered(
                label: "Jeanne_Tremblay", nickname: "Jeanne_Tremblay:Jeanne Tremblay", database: "/home/jeanne/.pki/nssdb", busy: nil)
            return state
        },
        ScreenCase("kiosk-countdown") {
            after(Flow.identity(language: $0, kiosk: true), .text("Filou"), .tick(kioskStart), .tick(kioskStart.addingTimeInterval(108)))
        },
        ScreenCase("kiosk-summary-countdown") {
            after(Flow.summary(language: $0, kiosk: true), .tick(kioskStart), .tick(kioskStart.addingTimeInterval(6)))
        },
        ScreenCase("kiosk-profile-folder-missing") {
            after(Flow.componentsChecking(language: $0, kiosk: true), .componentsChecked([Fixture.profileFolderMissing, Fixture.keystoreInstalled]))
        },
        ScreenCase("help-step2") { after(Flow.identity(language: $0), .key(.function(1))) },
        // The customer service known: F1 shows it, and so does a message that sends the person there.
        ScreenCase("help-step2-contact") { after(Flow.identity(language: $0), .customerServiceKnown(Fixture.customerService), .key(.function(1))) },
        // Step 5's help is long: the keys give way to the contact, and the message waits for the help to close.
        ScreenCase("help-step5-contact") {
            after(Flow.activation(language: $0), .customerServiceKnown(Fixture.customerService), .key(.function(1)))
        },
        ScreenCase("1-link-activated-contact") {
            after(
                Store(language: $0, languageChosen: true), .text(Fixture.link), .key(.enter), .customerServiceKnown(Fixture.customerService),
                .lookedUp(.success(ApplicationLookup(overview: Fixture.overview(language: $0, status: .activated), local: .none))))
        },
        ScreenCase("2-identity-locked-contact") {
            after(
                Flow.identity(language: $0), .customerServiceKnown(Fixture.customerService), .text("Filou"), .key(.tab), .text("Québec"), .key(.tab),
                .text("Lada"), .key(.enter), .identityChecked(.failure(.refused(ActivationError(.identityLocked)))))
        },
        ScreenCase("too-small", width: 60, height: 20) { after(Flow.identity(language: $0), .resized(width: 60, height: 20)) },
    ]
}

@Suite("Screen snapshots") struct SnapshotTests {
    @Test(arguments: ScreenCase.all, Language.allCases)
    func snapshot(_ screenCase: ScreenCase, language: Language) throws {
        try assertSnapshot(screenCase.screen(language), named: "\(screenCase.name).\(language.rawValue)")
    }

    /// Plain mode is a view too (issue 9.5): the lines and the prompt it shows for each state, from a
    /// fresh transcript (so each step's heading and explanation show), snapshot-tested like the screens.
    @Test(arguments: ScreenCase.all.filter { $0.name != "too-small" }, Language.allCases)
    func plainSnapshot(_ screenCase: ScreenCase, language: Language) throws {
        let state = screenCase.make(language)
        var transcript = PlainTranscript()
        var lines = plainLines(state, after: &transcript)
        switch lineStep(state) {
        case .ask(let field, let then):
            let (more, prompt) = plainPrompt(field, state, transcript: &transcript)
            lines += more + ["> \(prompt)   (then \(then == .tab ? "next field" : "Enter"))"]
        case .confirm(let button, _):
            lines.append("> " + plainConfirmation(button, state))
        case .press(let button):
            lines.append("(presses \(button))")
        case .wait:
            lines.append("(waits)")
        case .done:
            lines.append("(done)")
        case .stop:
            lines.append(plainStopLine(declined: nil, state))
        }
        try assertSnapshot(text: lines.joined(separator: "\n") + "\n", named: "plain/\(screenCase.name).\(language.rawValue)")
    }

    @Test func aSnapshotCanFail() {
        // The comparison itself: a changed cell is a difference.
        var screen = ScreenCase.all[0].screen(.en)
        let before = snapshotText(screen)
        screen.put("x", row: 10, column: 40)
        #expect(snapshotText(screen) != before)
        screen.cursor = Position(row: 1, column: 1)
        #expect(snapshotText(screen).hasSuffix("── cursor: row 1, column 1\n"))
    }
}
