import Foundation
import ParapheTestSupport
import Testing

@testable import Activation

/// Hostile input, generated from a seed: escape sequences, C0/C1 controls, NUL, bidi overrides,
/// combining marks, invalid sequences and very long values.
///
/// Thousands of cases per run.
enum Hostile {
    static let fragments: [String] = [
        "\u{1B}]0;pwned\u{07}", "\u{1B}]2;title\u{1B}\\", "\u{1B}[2J", "\u{1B}[31m", "\u{1B}[?1049h", "\u{1B}P+q\u{1B}\\",
        "\u{9B}2J", "\u{9D}0;x\u{9C}", "\u{0}", "\u{7}", "\u{8}", "\u{7F}", "\u{85}", "\u{1A}", "\r", "\n", "\t",
        "\u{202E}", "\u{2066}", "\u{200F}", "\u{61C}", String(repeating: "\u{301}", count: 40), "\u{200D}", "\u{FEFF}",
        "Montréal", "rex", "  ", "123-456-789", "7K2M-Q9XD-4HPA-VT3R", "https://activation.paraphe.example/activate/",
        "日本語", "🙂", "\u{FFFD}", "e\u{301}", "ﬁ", "Ω", "-", " ", "0", "9", "O", "l",
    ]

    /// A random hostile string; sometimes megabyte-long.
    static func string(_ random: SeededRandomSource) -> String {
        let bytes = random.bytes(3)
        if bytes[0] == 0 { return String(repeating: fragments[Int(bytes[1]) % fragments.count], count: 200_000) }
        let count = Int(bytes[1]) % 12
        return (0..<count).map { _ in fragments[Int(random.bytes(1)[0]) % fragments.count] }.joined()
    }

    static func hasControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { InputText.isControl($0) || InputText.isBidiControl($0) }
    }
}

@Suite struct HostileInputTests {
    @Test func cleanedFieldTextNeverCarriesControlsAndRespectsTheLimit() {
        let random = SeededRandomSource(seed: 1)
        for _ in 0..<3_000 {
            let input = Hostile.string(random)
            let limit = 1 + Int(random.bytes(1)[0])
            let cleaned = InputText.clean(input, limit: limit)
            #expect(!Hostile.hasControl(cleaned.text))
            #expect(cleaned.text.count <= limit)
        }
    }

    @Test func validationRefusesOrReturnsCleanText() {
        let random = SeededRandomSource(seed: 2)
        for _ in 0..<3_000 {
            let input = Hostile.string(random)
            for field in [InputField.answer, .link, .name, .password] {
                do {
                    let valid = try InputText.validate(input, field: field)
                    #expect(!Hostile.hasControl(valid))
                    #expect(valid.count <= field.limit)
                } catch {
                    guard case .invalidInput = error.code else {
                        Issue.record("unexpected error \(error.code)")
                        continue
                    }
                    #expect(!error.message(in: .en).contains(input) || input.isEmpty || input.allSatisfy(\.isWhitespace))
                    #expect(!Hostile.hasControl(error.message(in: .fr)))
                }
            }
        }
    }

    @Test func codesParseOnlyIntoValidValues() {
        let random = SeededRandomSource(seed: 3)
        for _ in 0..<3_000 {
            let input = Hostile.string(random)
            if let reference = try? ReferenceNumber(parsing: input) {
                #expect(reference.digits.count == 9 && Damm.isValid(reference.digits))
            }
            if let token = try? ApplicationToken(parsing: input) {
                #expect(token.value.count == 16 && token.value.allSatisfy { Base32.alphabet.contains($0) })
            }
            // Answers are validated (length-limited) before they are normalized, as in the product.
            if let answer = try? InputText.validate(input, field: .answer) {
                #expect(!Hostile.hasControl(AnswerNormalizer.normalize(answer)))
            }
        }
    }

    @Test func decodingArbitraryBytesNeverCrashes() {
        let random = SeededRandomSource(seed: 4)
        var refused = 0
        for _ in 0..<3_000 {
            let bytes = random.bytes(Int(random.bytes(1)[0]))
            if (try? InputText.decode(bytes, field: .file)) == nil { refused += 1 }
        }
        #expect(refused > 0, "random bytes include invalid UTF-8")
    }
}
