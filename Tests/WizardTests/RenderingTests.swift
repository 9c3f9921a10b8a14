import AuthorityInterface
import Foundation
import ScreenModel
import Testing
import WizardRendering

@testable import Activation
@testable import Wizard

@Suite("Rendering") struct RenderingTests {
    static let fullSize = ScreenCase.all.filter { $0.width == 80 }

    @Test(arguments: fullSize, Language.allCases)
    func headerShowsTheStep(_ screenCase: ScreenCase, language: Language) {
        let state = screenCase.make(language)
        let screen = screenCase.screen(language)
        let heading = language == .en ? "Step \(state.step.rawValue) of 5 — " : "Étape \(state.step.rawValue) de 5 — "
        let titles: [Language: [String]] = [
            .en: [
                "Approval email", "Security questions", "Required software", "Renewal of activation codes", "Activation of the digital certificate",
            ],
            .fr: [
                "Courriel d’approbation", "Questions de sécurité", "Logiciels requis", "Renouvellement des codes d’activation",
                "Activation du certificat numérique",
            ],
        ]
        let title = titles[language]?[state.step.rawValue - 1] ?? "?"
        #expect(screen.lines[1].trimmingCharacters(in: .whitespaces) == heading + title)
    }

    @Test(arguments: fullSize, Language.allCases)
    func everyRowFitsInTheMargins(_ screenCase: ScreenCase, language: Language) {
        let screen = screenCase.screen(language)
        #expect(screen.lines.count == 24)
        for (row, line) in screen.lines.enumerated() {
            #expect(DisplayWidth.of(line) == 80, "row \(row) is \(DisplayWidth.of(line)) cells")
            // Between the header and the footer rules, text keeps a 2-column margin: text reaching the
            // last columns was cut at the edge.
            if (4...(screen.height - 3)).contains(row) {
                let right = screen.text(row: row, column: 78, count: 2)
                #expect(right == "  ", "row \(row) runs into the right margin: \(line)")
            }
        }
    }

    @Test(arguments: fullSize, Language.allCases)
    func footerListsF10OnlyOutsideKiosk(_ screenCase: ScreenCase, language: Language) {
        var state = screenCase.make(language)
        let footer = render(state, width: 80, height: 24).lines[23]
        #expect(footer.contains("F10 ") == !state.kiosk, "\(footer)")
        #expect(footer.contains(state.showHelp ? (language == .en ? "Esc " : "Échap ") : "F1 ") && footer.contains("F2 "))
        state.kiosk = true
        let kioskFooter = render(state, width: 80, height: 24).lines[23]
        #expect(!kioskFooter.contains("F10"), "\(kioskFooter)")
    }

    @Test(arguments: Language.allCases)
    func footerListsOnlyKeysThatWork(language: Language) {
        let back = language == .en ? "Esc Back" : "Échap Retour"
        #expect(!render(Store(language: language).state).lines[23].contains(back))
        #expect(render(Flow.identity(language: language).state).lines[23].contains(back))
        #expect(!render(Flow.components([Fixture.managerInstalled], language: language).state).lines[23].contains(back))
        #expect(render(Flow.activation(language: language).state).lines[23].contains(back))
        #expect(!render(Flow.login(language: language).state).lines[23].contains(back))
        // Work in flight: only the global keys.
        #expect(!render(Flow.componentsChecking(language: language).state).lines[23].contains("Tab"))
    }

    /// Issue 10.10: on "Key type" the footer says how to change it (and still fits F10); F1 says it too.
    @Test(arguments: Language.allCases)
    func keyTypeIsDiscoverable(language: Language) {
        var store = Flow.activation(language: language)
        store.drive(.focus(.keyChoice))
        let footer = render(store.state, width: 80, height: 24).lines[23]
        #expect(footer.contains(language == .en ? "←/→ Choose" : "←/→ Choisir"), "\(footer)")
        #expect(footer.contains("F10 "), "\(footer)")
        store.drive(.key(.function(1)))
        let help = render(store.state, width: 80, height: 24)
        #expect(help.contains("RSA 3072") && help.contains("ECDSA P-256"), "\(help)")
    }

    /// Issue 10.12: the French footer names the keys in French.
    @Test func frenchFooterSaysEntree() {
        let footer = render(Flow.identity(language: .fr).state).lines[23]
        #expect(footer.contains("Entrée ") && footer.contains("Échap ") && !footer.contains("Enter"), "\(footer)")
    }

    @Test func f2RedrawsEverythingInTheOtherLanguage() {
        var store = Flow.identity(language: .en)
        store.drive(
            .text("Filou"), .key(.tab), .text("Québec"), .key(.tab), .text("Lada"), .key(.enter),
            .identityChecked(.failure(.refused(ActivationError(.wrongAnswers(remaining: 3))))))
        #expect(render(store.state).contains("Your answers did not match. 3 attempts remain."))
        store.drive(.key(.function(2)))
        let screen = render(store.state)
        #expect(screen.contains("Étape 2 de 5 — Questions de sécurité"))
        #expect(screen.contains("Vos réponses ne correspondent pas. Il reste 3 tentatives."))
        #expect(screen.contains("[ ••••• ") && !screen.contains("Filou") && screen.lines[23].contains("F2 English"))
    }

    @Test func aPasswordNeverReachesTheScreen() {
        let secret = Fixture.password
        var store = Flow.activation()
        store.drive(.text(Fixture.reference.formatted), .key(.tab), .text(secret))
        var screens = [render(store.state)]
        store.drive(.key(.tab), .text(secret))
        screens.append(render(store.state))
        store.drive(.key(.tab))
        screens.append(render(store.state))
        store.drive(.key(.function(2)))
        screens.append(render(store.state))
        store.drive(.key(.function(2)), .key(.enter))
        screens.append(render(store.state))
        store.drive(.activated(.success(Fixture.profileFile)), .text(secret))
        screens.append(render(store.state))
        store.drive(.key(.tab))
        screens.append(render(store.state))
        store.drive(.key(.enter))
        screens.append(render(store.state))
        store.drive(.loggedIn(.failure(.other(messageKey: "cli.error.keystore.wrongPassword", arguments: [:]))))
        screens.append(render(store.state))
        for screen in screens {
            #expect(!screen.text.contains(secret))
            #expect(!screen.text.contains("Orage") && !screen.text.contains("Piano"))
        }
        // The bullets are there: the field is not simply blank.
        #expect(screens[0].contains(String(repeating: "•", count: secret.count)))
        #expect(screens[5].contains(String(repeating: "•", count: secret.count)))
    }

    @Test func answersShowOnlyWhileTheirFieldHasFocus() {
        var store = Flow.identity()
        store.drive(.text("Filou"))
        #expect(render(store.state).contains("[ Filou "))
        store.drive(.key(.tab), .text("Montréal"))
        var screen = render(store.state)
        #expect(!screen.contains("Filou") && screen.contains("[ ••••• "))
        #expect(screen.contains("[ Montréal "))
        store.drive(.key(.tab), .key(.tab))
        #expect(store.state.focus == .hideAnswers)
        screen = render(store.state)
        #expect(!screen.contains("Montréal") && !screen.contains("Filou"))
        // Hidden answers stay bullets even with focus.
        store.drive(.key(.character(" ")), .key(.tab), .key(.tab))
        #expect(store.state.focus == .field(.answer1) && store.state.hideAnswers)
        #expect(!render(store.state).contains("Filou"))
    }

    @Test func wideCharactersTakeTwoCells() throws {
        let question = "あなたは日本のどの都市で生まれましたか？"
        let store = Flow.identity(questions: [question, "Ville natale ?", "Voiture ?"])
        let screen = render(store.state)
        let row = try #require(screen.row(containing: "日本"))
        let column = try #require(screen.column(of: "日本", row: row))
        #expect(screen[row, column].character == "日" && !screen[row, column].isContinuation)
        #expect(screen[row, column + 1].isContinuation)
        #expect(screen[row, column + 2].character == "本" && screen[row, column + 3].isContinuation)
        #expect(column == 2 + DisplayWidth.of("1. あなたは"))
        #expect(DisplayWidth.of(screen.lines[row]) == 80)
        #expect(screen.lines[row].hasPrefix("  1. " + question))
    }

    @Test func aVeryWideQuestionIsCutInsideTheMargins() throws {
        let question = String(repeating: "日本語", count: 20)
        let screen = render(Flow.identity(questions: [question, "b", "c"]).state)
        let row = try #require(screen.row(containing: "日本語"))
        #expect(screen.text(row: row, column: 78, count: 2) == "  ")
        #expect(screen.lines[row].contains("…"))
    }

    @Test func wideTextInAFieldKeepsTheCursorRight() throws {
        var store = Flow.identity()
        store.drive(.text("東京"))
        let screen = render(store.state)
        let cursor = try #require(screen.cursor)
        #expect(cursor.row == 9 && cursor.column == 7 + 4)
        #expect(screen.text(row: 9, column: 7, count: 4) == "東京")
    }

    @Test func theReferenceNumberIsRed() throws {
        var store = Flow.activation()
        store.drive(.text("482-157-304"))
        for focused in [true, false] {
            if !focused { store.drive(.key(.tab)) }
            let screen = render(store.state)
            let row = try #require(screen.row(containing: "482-157-304"))
            let column = try #require(screen.column(of: "482-157-304", row: row))
            for offset in 0..<11 { #expect(screen[row, column + offset].style.color == .red, "focused: \(focused)") }
            // The password next to it is not.
            let passwordRow = row + 1
            #expect(screen[passwordRow, column].style.color == nil)
        }
    }

    @Test func theCursorSitsInTheFocusedField() throws {
        // Step 1: after the typed text, then moved left.
        var store = Store()
        store.drive(.text("7K2M"))
        var screen = render(store.state)
        var cursor = try #require(screen.cursor)
        #expect(screen.text(row: cursor.row, column: cursor.column - 4, count: 4) == "7K2M")
        #expect(screen.text(row: cursor.row, column: cursor.column - 6, count: 2) == "[ ")
        store.drive(.key(.left), .key(.left))
        cursor = try #require(render(store.state).cursor)
        #expect(screen.text(row: cursor.row, column: cursor.column, count: 2) == "2M")
        // On a button: on its label.
        store.drive(.key(.tab))
        screen = render(store.state)
        cursor = try #require(screen.cursor)
        #expect(screen.text(row: cursor.row, column: cursor.column, count: 4) == "Next")

        // Step 5: each field in turn.
        store = Flow.activation()
        store.drive(.text(Fixture.reference.formatted))
        for (index, label) in ["Reference number", "Password", "Confirm password"].enumerated() {
            if index > 0 { store.drive(.key(.tab), .text("abc")) }
            screen = render(store.state)
            cursor = try #require(screen.cursor)
            let row = try #require(screen.row(containing: label))
            #expect(cursor.row == row, "\(label)")
            #expect(cursor.column == 22 + 2 + (index == 0 ? Fixture.reference.formatted.count : 3), "\(label)")
        }
        // A long entry scrolls: the cursor stays inside the box.
        store.drive(.text(String(repeating: "x", count: 100)))
        screen = render(store.state)
        cursor = try #require(screen.cursor)
        #expect(cursor.column < 76)
        #expect(screen.text(row: cursor.row, column: 76, count: 2) == " ]")

        // No cursor while work runs or help is open.
        #expect(render(Flow.componentsChecking().state).cursor == nil)
        var help = Flow.identity()
        help.drive(.key(.function(1)))
        #expect(render(help.state).cursor == nil)
    }

    @Test func tooSmallGoesAwayWhenTheTerminalGrows() {
        var store = Flow.identity()
        store.drive(.text("Filou"), .resized(width: 79, height: 24))
        let small = render(store.state)
        #expect(small.width == 79 && small.contains("80×24") && !small.contains("Security questions"))
        store.drive(.resized(width: 80, height: 23))
        #expect(render(store.state).contains("80×23"))
        store.drive(.resized(width: 120, height: 40))
        let big = render(store.state)
        #expect(big.width == 120 && big.height == 40)
        #expect(big.contains("Step 2 of 5 — Security questions") && big.contains("[ Filou "))
        #expect(big.lines[39].contains("F10 Quit"))
    }

    @Test func helpInKioskModeDoesNotOfferF10() {
        var store = Flow.identity(kiosk: true)
        store.drive(.key(.function(1)))
        #expect(!render(store.state).contains("F10"))
        store = Flow.identity(language: .fr, kiosk: true)
        store.drive(.key(.function(1)))
        #expect(!render(store.state).contains("F10"))
    }

    @Test func everyStringKeyExistsInBothLanguages() {
        #expect(Localizer(.en).keys == Localizer(.fr).keys)
        #expect(!Localizer(.en).keys.isEmpty)
    }

    @Test func everyTextOnScreenIsTranslated() {
        // A missing key would show as the key itself (`step.1.title`…).
        let keys = Localizer(.en).keys
        for screenCase in ScreenCase.all {
            for language in Language.allCases {
                let text = screenCase.screen(language).text
                for key in keys where text.contains(key) { Issue.record("\(screenCase.name).\(language) shows \(key)") }
            }
        }
    }
}

@Suite("Text layout") struct LayoutTests {
    @Test func frenchPunctuationStaysWithItsWord() {
        let text = "Copiez le lien complet du courriel « Signature numérique : Demande approuvée », ou tapez son code"
        for columns in 20...80 {
            for line in DisplayWidth.wrap(text, columns: columns) {
                #expect(!line.hasSuffix("«") && !line.hasPrefix("»") && !line.hasPrefix(":"), "\(columns): |\(line)|")
                #expect(DisplayWidth.of(line) <= columns)
            }
        }
        #expect(DisplayWidth.wrap(text, columns: 1000) == [text])
    }

    @Test func wrapKeepsEveryWord() {
        let text = "Answer the security questions you chose when you applied. At least 2 of the 3 answers must match."
        for columns in 10...40 {
            let lines = DisplayWidth.wrap(text, columns: columns)
            #expect(lines.joined(separator: " ") == text)
            #expect(lines.allSatisfy { DisplayWidth.of($0) <= columns })
        }
    }

    @Test func screenPutClipsWideCharactersAtTheEdge() {
        var screen = Screen(width: 5, height: 1)
        #expect(screen.put("ab日本", row: 0, column: 0) == 4)
        #expect(screen.lines[0] == "ab日 ")
        #expect(screen[0, 3].isContinuation)
        // Overwriting the second half of a wide character blanks the first.
        screen.put("x", row: 0, column: 3)
        #expect(screen.lines[0] == "ab x ")
    }
}
