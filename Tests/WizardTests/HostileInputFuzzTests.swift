import Activation
import Foundation
import ParapheTestSupport
import PasswordQuality
import ScreenModel
import Testing
import Wizard
import WizardRendering

/// Random key presses and pastes of hostile text through the reducer and the renderer:
/// fields never hold a control character, nothing is drawn that a terminal would interpret.
@Suite struct HostileInputFuzzTests {
    static let fragments: [String] = [
        "\u{1B}]0;pwned\u{07}", "\u{1B}[2J", "\u{1B}[31m", "\u{9B}2J", "\u{0}", "\u{7}", "\u{7F}", "\u{85}", "\u{202E}",
        String(repeating: "\u{301}", count: 20), "日本", "🙂", "Montréal", "rex", "123 456 789", "Vert-Orage-Piano-47",
        String(repeating: "A", count: 600),
    ]
    static let keys: [Key] = [
        .tab, .backTab, .up, .down, .left, .right, .home, .end, .backspace, .delete, .escape,
        .function(1), .function(2), .control("l"), .control("u"), .character("x"), .character("é"),
        .character(" "), .character("日"),
    ]

    @Test func randomEventsKeepFieldsAndScreensClean() {
        let random = SeededRandomSource(seed: 5)
        let environment = WizardEnvironment(passwordPolicy: PasswordPolicy(checker: PWQualityChecker()))
        var cases = 0
        for run in 0..<40 {
            var state = WizardState(language: run % 2 == 0 ? .en : .fr, kiosk: run % 3 == 0)
            for _ in 0..<100 {
                let pick = random.bytes(2)
                let event: WizardEvent =
                    pick[0] % 3 == 0
                    ? .text(Self.fragments[Int(pick[1]) % Self.fragments.count])
                    : .key(Self.keys[Int(pick[1]) % Self.keys.count])
                _ = reduce(&state, event, environment)
                cases += 1
                for (id, field) in state.fields {
                    #expect(!field.text.unicodeScalars.contains { InputText.isControl($0) || InputText.isBidiControl($0) })
                    #expect(field.text.count <= id.limit)
                }
            }
            let screen = render(state, width: 80, height: 24)
            for line in screen.lines {
                #expect(!line.unicodeScalars.contains { InputText.isControl($0) || InputText.isBidiControl($0) })
                #expect(DisplayWidth.of(line) <= 80)
            }
        }
        #expect(cases == 4_000)
    }
}
