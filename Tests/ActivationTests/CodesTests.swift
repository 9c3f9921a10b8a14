import Foundation
import ParapheTestSupport
import Testing

@testable import Activation

@Suite struct ReferenceNumberTests {
    @Test func acceptsBlanksAndDashesAnywhere() throws {
        let valid = ReferenceNumber.generate(using: SeededRandomSource(seed: 1))
        let d = Array(valid.digits)
        let messy = " \(d[0])\(d[1]) -\(d[2])\(d[3])\(d[4])- - \(d[5])\(d[6])\t\(d[7]) \(d[8])\n"
        #expect(try ReferenceNumber(parsing: messy) == valid)
        #expect(try ReferenceNumber(parsing: valid.formatted) == valid)
        #expect(valid.formatted.count == 11)
        #expect(valid.formatted.split(separator: "-").map(\.count) == [3, 3, 3])
    }

    @Test func checkDigitCatchesEverySingleTypo() throws {
        let valid = ReferenceNumber.generate(using: SeededRandomSource(seed: 7))
        for position in 0..<9 {
            for replacement in 0...9 {
                var digits = Array(valid.digits)
                guard digits[position].wholeNumberValue != replacement else { continue }
                digits[position] = Character(String(replacement))
                #expect(throws: ActivationError(.referenceCheckDigit)) { try ReferenceNumber(parsing: String(digits)) }
            }
        }
    }

    @Test func checkDigitCatchesAdjacentSwaps() throws {
        let valid = ReferenceNumber.generate(using: SeededRandomSource(seed: 9))
        for position in 0..<8 {
            var digits = Array(valid.digits)
            guard digits[position] != digits[position + 1] else { continue }
            digits.swapAt(position, position + 1)
            #expect(throws: ActivationError(.referenceCheckDigit)) { try ReferenceNumber(parsing: String(digits)) }
        }
    }

    @Test func malformedNumbers() {
        for text in ["", "12345678", "1234567890", "12a-456-789", "１２３-456-789", "123_456_789", "\u{1B}[2J123456789"] {
            #expect(throws: ActivationError(.referenceMalformed), "\(text)") { try ReferenceNumber(parsing: text) }
        }
    }

    @Test func dammKnownAnswer() {
        // The classic example: 572 → check digit 4.
        #expect(Damm.checkDigit("572") == 4)
        #expect(Damm.isValid("5724"))
        #expect(!Damm.isValid("5727"))
    }

    @Test func generatedNumbersAreValidAndVaried() {
        let random = SeededRandomSource(seed: 42)
        let numbers = (0..<200).map { _ in ReferenceNumber.generate(using: random) }
        #expect(Set(numbers).count == 200)
        #expect(numbers.allSatisfy { Damm.isValid($0.digits) && $0.digits.first != "0" })
    }
}

@Suite struct ApplicationTokenTests {
    @Test func acceptsLinkOrBareTokenAnyCase() throws {
        let token = ApplicationToken.generate(using: SeededRandomSource(seed: 3))
        #expect(token.value.count == 16)
        #expect(token.formatted.count == 19)
        let forms = [
            token.link,
            "  \(token.link)\n",
            "<\(token.link)>",
            token.formatted,
            token.formatted.lowercased(),
            token.value,
            "\n \(token.formatted.lowercased()) \r\n",
            token.link + "/",
            "https://activation.paraphe.example/activate?token=\(token.formatted)&lang=fr",
        ]
        for form in forms {
            #expect(try ApplicationToken(parsing: form) == token, "\(form)")
        }
    }

    @Test func readsAmbiguousLettersAsDigits() throws {
        let parsed = try ApplicationToken(parsing: "OIL0-1111-2222-3333")
        #expect(parsed.value == "0110111122223333")
        // Sixteen characters with no dash take the quick way for stored tokens: the same reading.
        #expect(try ApplicationToken(parsing: "OIL01111222233LO").value == "0110111122223310")
        #expect(try ApplicationToken(parsing: "7k2mq9xd4hpavt3r").value == "7K2MQ9XD4HPAVT3R")
        #expect(throws: ActivationError(.linkMalformed)) { try ApplicationToken(parsing: "7K2MQ9XD4HPAVT3U") }
    }

    @Test func rejectsWhatIsNotAToken() {
        for text in [
            "", "7K2M-Q9XD-4HPA", "7K2M-Q9XD-4HPA-VT3R-AAAA", "UUUU-UUUU-UUUU-UUUU", "https://example.com/",
            String(repeating: "A", count: 5_000),
        ] {
            #expect(throws: ActivationError(.linkMalformed)) { try ApplicationToken(parsing: text) }
        }
    }

    @Test func hasAtLeast80Bits() {
        let random = SeededRandomSource(seed: 5)
        let tokens = Set((0..<1_000).map { _ in ApplicationToken.generate(using: random) })
        #expect(tokens.count == 1_000)
        // 16 base32 characters = 80 bits.
        #expect(tokens.allSatisfy { $0.value.count * 5 >= 80 })
    }
}

@Suite struct SecretTests {
    @Test func secretsAreRedactedEverywhere() {
        let password = Password("hunter2-hunter2")
        let answer = SecurityAnswer("Montréal")
        let code = AuthorizationCode.generate(using: SeededRandomSource(seed: 1))
        #expect(code.revealed.count == 16)
        for text in [
            "\(password)", "\(answer)", "\(code)", String(describing: password), String(reflecting: answer),
            String(reflecting: code),
        ] {
            #expect(!text.contains("hunter2"))
            #expect(!text.contains("Montr"))
            #expect(!text.contains(code.revealed))
        }
        var dumped = ""
        dump(answer, to: &dumped)
        #expect(!dumped.contains("Montr"))
    }

    @Test func answerNormalization() {
        #expect(AnswerNormalizer.normalize("  Montréal ") == "montreal")
        #expect(SecurityAnswer("  Montréal ").normalized == SecurityAnswer("montreal").normalized)
        #expect(AnswerNormalizer.normalize("Saint-JÉRÔME\t  du   Lac") == "saint-jerome du lac")
        #expect(AnswerNormalizer.normalize("ﬁdo") == "fido")  // compatibility ligature
        #expect(AnswerNormalizer.normalize("e\u{301}cole") == "ecole")  // combining accent
        #expect(AnswerNormalizer.normalize("Rex") != AnswerNormalizer.normalize("Rexx"))
        #expect(AnswerNormalizer.normalize(" \n ") == "")
    }
}
