import AuthorityInterface
import Foundation
import ScreenModel
import Testing

@testable import Activation
@testable import Wizard

@Suite("Keys") struct KeyTests {
    /// Tab visits `order` then wraps; Shift-Tab and ↑ go back the same way; ↓ is Tab.
    func checkFocusCycle(_ start: Store, _ order: [Control], sourceLocation: SourceLocation = #_sourceLocation) {
        var store = start
        #expect(focusOrder(store.state) == order, sourceLocation: sourceLocation)
        #expect(store.state.focus == order[0], "focus starts on the first control", sourceLocation: sourceLocation)
        for index in 1...order.count {
            store.key(index % 2 == 0 ? .down : .tab, sourceLocation: sourceLocation) { $0.focus = order[index % order.count] }
        }
        for index in (0..<order.count).reversed() {
            store.key(index % 2 == 0 ? .up : .backTab, sourceLocation: sourceLocation) { $0.focus = order[index] }
        }
    }

    @Test func focusOrderOfEveryScreen() {
        checkFocusCycle(Store(), [.field(.link), .button(.next), .button(.recover)])
        checkFocusCycle(Flow.identity(), [.field(.answer1), .field(.answer2), .field(.answer3), .hideAnswers, .button(.next)])
        checkFocusCycle(
            Flow.components([Fixture.managerMissing, Fixture.keystoreInstalled]), [.button(.install), .button(.recheck), .button(.next)])
        var ready = Flow.components([Fixture.managerInstalled, Fixture.keystoreInstalled])
        ready.drive(.key(.tab))
        checkFocusCycle(ready, [.button(.recheck), .button(.next)])
        checkFocusCycle(Flow.renewal(), [.button(.renew)])
        checkFocusCycle(Flow.activation(), [.field(.reference), .field(.password), .field(.confirmation), .keyChoice, .button(.activate)])
        checkFocusCycle(Flow.login(), [.field(.loginPassword), .button(.login)])
        checkFocusCycle(Flow.summary(), [.button(.finish)])
    }

    @Test func escapeGoesBackOneStepWhereAllowed() {
        // Step 1: nowhere to go.
        var store = Store()
        store.key(.escape)

        // Step 2 → 1: the answers are wiped, the link kept.
        store = Flow.identity()
        store.send(.text("Filou")) { $0.fields[.answer1] = filled(.answer1, "Filou") }
        store.key(.escape) {
            $0.step = .link
            $0.fields[.answer1] = filled(.answer1, "")
            $0.token = nil
            $0.overview = nil
            $0.focus = .field(.link)
        }
        #expect(store.state.field(.link).text == Fixture.link)

        // Never from 3 back to 2.
        store = Flow.components([Fixture.managerInstalled, Fixture.keystoreInstalled], expired: true)
        store.key(.escape) { $0.notice = .message(.cannotGoBack) }

        // 4 → 3 checks the software again.
        store.drive(.key(.enter))
        #expect(store.state.step == .renewal)
        store.key(.escape, effects: [.checkComponents]) {
            $0.step = .components
            $0.notice = nil
            $0.work = .checkingComponents
        }

        // Step 5's form → 4.
        store = Flow.activation()
        store.send(.text("482")) { $0.fields[.reference] = filled(.reference, "482") }
        store.key(.escape) {
            $0.step = .renewal
            $0.notice = nil
            $0.focus = .button(.next)
        }
        // …and forward again, the typed text kept.
        store.key(.enter) {
            $0.step = .activation
            $0.focus = .field(.reference)
        }

        // Never back from the login or the summary.
        store = Flow.login()
        store.key(.escape)
        store = Flow.summary()
        store.key(.escape)
    }

    @Test func f2SwitchesTheLanguageAndKeepsEveryField() {
        var store = Flow.activation(language: .en)
        store.drive(.text("482-157-304"), .key(.tab), .text("Vert-Orage"), .key(.tab), .text("Vert"))
        store.key(.function(2)) {
            $0.language = .fr
            $0.languageChosen = true
        }
        store.key(.function(2)) { $0.language = .en }
        #expect(
            store.state.field(.reference).text == "482-157-304" && store.state.field(.password).text == "Vert-Orage"
                && store.state.field(.confirmation).text == "Vert")
    }

    @Test func f1TogglesHelpAndEscapeClosesIt() {
        var store = Flow.identity()
        store.key(.function(1)) { $0.showHelp = true }
        // Help is open: other keys and typing do nothing.
        store.key(.tab)
        store.key(.character("a"))
        store.send(.text("Filou"))
        store.key(.escape) { $0.showHelp = false }
        #expect(store.state.step == .identity)
        store.key(.function(1)) { $0.showHelp = true }
        store.key(.function(1)) { $0.showHelp = false }
        store.key(.function(1)) { $0.showHelp = true }
        store.key(.enter) { $0.showHelp = false }
    }

    @Test func ctrlLRedraws() {
        var store = Flow.identity()
        store.key(.control("l"), effects: [.redraw])
    }

    @Test(arguments: [Key.function(10), .control("c")])
    func quitKeysQuit(key: Key) {
        var store = Flow.identity()
        store.key(key) { $0.ending = .quit }
    }

    @Test(arguments: [Key.function(10), .control("c"), .control("z"), .control("\\")])
    func kioskModeHasNoWayOut(key: Key) {
        var store = Flow.identity(kiosk: true)
        store.key(key)
        var summary = Flow.summary(kiosk: true)
        summary.key(key)
    }

    @Test func keysWaitWhileWorkIsInFlight() {
        var store = Store()
        store.drive(.text(Fixture.link), .key(.enter))
        #expect(store.state.work == .lookingUp)
        for key in [Key.tab, .backTab, .up, .down, .enter, .escape, .character("x"), .backspace, .left, .home, .control("u")] {
            store.key(key)
        }
        store.send(.text("more"))
        store.key(.control("l"), effects: [.redraw])
        store.key(.function(2)) {
            $0.language = .fr
            $0.languageChosen = true
        }
        store.key(.function(1)) { $0.showHelp = true }
        store.key(.escape) { $0.showHelp = false }
        store.key(.function(10)) { $0.ending = .quit }
    }

    @Test func keysWaitWhileTheTerminalIsTooSmall() {
        var store = Flow.identity()
        store.send(.text("Fil")) { $0.fields[.answer1] = filled(.answer1, "Fil") }
        store.send(.resized(width: 60, height: 20)) {
            $0.width = 60
            $0.height = 20
        }
        // Issue 10.12: what is typed meanwhile is kept, in order…
        store.key(.character("x")) { $0.heldInput = [.key(.character("x"))] }
        store.key(.backspace) { $0.heldInput.append(.key(.backspace)) }
        store.send(.text("ou")) { $0.heldInput.append(.text("ou")) }
        store.key(.tab) { $0.heldInput.append(.key(.tab)) }
        // …global keys still work at once…
        store.key(.control("l"), effects: [.redraw])
        // …and growing back applies it: nothing typed was lost.
        store.send(.resized(width: 100, height: 30)) {
            $0.width = 100
            $0.height = 30
            $0.heldInput = []
            $0.fields[.answer1] = filled(.answer1, "Filou")
            $0.focus = .field(.answer2)
        }
    }

    @Test func pastedEscapeSequencesAreDropped() {
        var store = Store()
        store.send(.text("pasted\u{1B}[2Jtext")) { $0.fields[.link] = filled(.link, "pastedtext") }
        store.send(.text("\u{1B}]0;title\u{07}\u{9B}31m!\u{202E}")) { $0.fields[.link] = filled(.link, "pastedtext!") }
    }

    @Test func inputPastTheLimitIsCut() {
        var store = Flow.activation()
        let long = String(repeating: "1234567890", count: 4)
        store.send(.text(long)) {
            $0.fields[.reference] = filled(.reference, String(long.prefix(32)))
            $0.notice = .message(.truncated(limit: 32))
        }
        store.key(.control("u")) { $0.fields[.reference] = filled(.reference, "") }
        // A 130-character password paste keeps 128.
        store.key(.tab) { $0.focus = .field(.password) }
        let password = String(repeating: "Vx7-", count: 33).prefix(130)
        store.send(.text(String(password))) {
            $0.fields[.password] = filled(.password, String(password.prefix(128)))
            $0.notice = .message(.truncated(limit: 128))
            $0.passwordEdits = 1
            $0.passwordCheck = rules(length: true, personal: true, common: false, confirmed: false, pending: true)
        }
    }

    @Test func fullFieldSaysSoWhenTyping() {
        var store = Flow.activation()
        store.send(.text(String(repeating: "9", count: 32))) { $0.fields[.reference] = filled(.reference, String(repeating: "9", count: 32)) }
        store.key(.character("1")) { $0.notice = .message(.truncated(limit: 32)) }
    }

    @Test func editingKeys() {
        var store = Store()
        store.send(.text("7K2Q9")) { $0.fields[.link] = filled(.link, "7K2Q9") }
        store.key(.left) { $0.fields[.link] = filled(.link, "7K2Q9", cursor: 4) }
        store.key(.left) { $0.fields[.link] = filled(.link, "7K2Q9", cursor: 3) }
        store.key(.backspace) { $0.fields[.link] = filled(.link, "7KQ9", cursor: 2) }
        store.key(.character("M")) { $0.fields[.link] = filled(.link, "7KMQ9", cursor: 3) }
        store.key(.home) { $0.fields[.link] = filled(.link, "7KMQ9", cursor: 0) }
        store.key(.left)
        store.key(.delete) { $0.fields[.link] = filled(.link, "KMQ9", cursor: 0) }
        store.key(.end) { $0.fields[.link] = filled(.link, "KMQ9") }
        store.key(.control("a")) { $0.fields[.link] = filled(.link, "KMQ9", cursor: 0) }
        store.key(.control("e")) { $0.fields[.link] = filled(.link, "KMQ9") }
        store.key(.delete)
        store.key(.right)
        store.key(.control("u")) { $0.fields[.link] = filled(.link, "") }
    }
}
