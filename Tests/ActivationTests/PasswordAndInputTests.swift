import Foundation
import ParapheTestSupport
import Testing

@testable import Activation
@testable import PasswordQuality

@Suite struct PasswordPolicyTests {
    let policy = PasswordPolicy(checker: PWQualityChecker())
    let name = "Jeanne Tremblay"
    let email = "jeanne.tremblay@example.com"

    func met(_ password: String, _ confirmation: String?) -> [PasswordRule: Bool] {
        let check = policy.evaluate(Password(password), confirmation: confirmation.map(Password.init), name: name, email: email)
        return Dictionary(uniqueKeysWithValues: check.rules.map { ($0.rule, $0.met) })
    }

    @Test func goodPasswordMeetsEveryRule() throws {
        let good = "Vert-Orage-Piano-47"
        #expect(met(good, good).values.allSatisfy { $0 })
        try policy.validate(Password(good), confirmation: Password(good), name: name, email: email)
    }

    @Test func rulesTickOneByOne() {
        #expect(
            met("", nil) == [.minimumLength: false, .maximumLength: true, .notNameOrEmail: false, .notCommon: false, .confirmationMatches: false])
        #expect(met("Vert-Orage-P", nil)[.minimumLength] == true)
        #expect(met("Vert-Orage-", nil)[.minimumLength] == false)
        #expect(met("Vert-Orage-Piano-47", "Vert-Orage-Piano-4")[.confirmationMatches] == false)
        #expect(met(String(repeating: "x7Q!", count: 33), nil)[.maximumLength] == false)
    }

    @Test func nameAndEmailAreRefused() {
        for password in ["JeanneTremblay99!", "tremblay-2024-xyz", "jeanne.tremblay@example.com", "xxTREMBLÂYxx-42-q", "Zz9-jeanne-Zz9-q"] {
            #expect(met(password, password)[.notNameOrEmail] == false, "\(password)")
        }
    }

    @Test func commonPasswordsAreRefusedByTheDictionary() {
        for password in ["password1234", "Password1234!", "123456789012", "abcdefghijkl", "qwertyuiop123", "motdepasse2024"] {
            #expect(met(password, password)[.notCommon] == false, "\(password)")
        }
        #expect(met("Vert-Orage-Piano-47", nil)[.notCommon] == true)
    }

    /// The dictionary kept open judges as cracklib's own `cracklib-check` (which opens it for every word), word for word.
    ///
    /// (cracklib allows one open dictionary a process: while Paraphe's is open, libpwquality's own rule could not open
    /// it — so the reference is another process.)
    @Test func theDictionaryKeptOpenJudgesAsCracklibDoes() throws {
        let dictionary = try #require(CracklibDictionary.shared, "cracklib's dictionary opens (cracklib-runtime)")
        let words = [
            "password123", "Password1", "dragon2024", "sunshine", "qwertyuiop", "abcdefgh", "aaaaaaaaaaaa", "12345678901",
            "Jeanne-Tremblay-1", "Vert-Orage-Piano-47", "Tr0ub4dor&3", "monkeymonkey", "baseball", "zaq12wsx", "Lundi-Soleil-Quatre",
            "éléphant-rose-42", "abc", "computer", "Computer123", "elephant",
        ]
        let reference = try runProgram(
            URL(fileURLWithPath: "/usr/sbin/cracklib-check"), [], environment: ProcessInfo.processInfo.environment,
            stdin: Array((words.joined(separator: "\n") + "\n").utf8))
        let verdicts = reference.stdout.split(separator: "\n").map { !$0.hasSuffix(": OK") }
        try #require(verdicts.count == words.count, "\(reference.stdout)")
        #expect(verdicts.contains(true) && verdicts.contains(false))
        for (word, rejected) in zip(words, verdicts) {
            let kept = PWQualityChecker.withLibrary { dictionary.rejects(word, user: "paraphe-no-such-user") }
            #expect(kept == rejected, "\(word): cracklib-check says \(rejected ? "rejected" : "OK")")
        }
    }

    @Test func rejectionNamesTheUnmetRules() {
        #expect(throws: ActivationError(.passwordRejected([.minimumLength, .notCommon, .confirmationMatches]))) {
            try policy.validate(Password("short"), confirmation: Password("other"), name: name, email: email)
        }
    }
}

@Suite struct InputTextTests {
    @Test func cleanDropsControlsAndEscapeSequences() {
        #expect(InputText.clean("ab\u{1B}]0;pwned\u{07}cd", limit: 50).text == "abcd")
        #expect(InputText.clean("ab\u{1B}[2Jcd\u{1B}[31mef", limit: 50).text == "abcdef")
        #expect(InputText.clean("a\u{0}b\u{8}c\u{7F}d\u{85}e\u{202E}f", limit: 50).text == "abcdef")
        #expect(InputText.clean("Montréal", limit: 50).text == "Montréal")
        let cut = InputText.clean(String(repeating: "é", count: 200), limit: 128)
        #expect(cut.text.count == 128 && cut.truncated)
    }

    @Test func validateRefusesHostileValues() {
        #expect(throws: ActivationError(.invalidInput(field: .answer, problem: .controlCharacters))) {
            try InputText.validate("Rex\u{1B}[2J", field: .answer)
        }
        #expect(throws: ActivationError(.invalidInput(field: .answer, problem: .bidiControls))) {
            try InputText.validate("Rex\u{202E}", field: .answer)
        }
        #expect(throws: ActivationError(.invalidInput(field: .answer, problem: .tooLong))) {
            try InputText.validate(String(repeating: "a", count: 1_000_000), field: .answer)
        }
        #expect(throws: ActivationError(.invalidInput(field: .answer, problem: .empty))) {
            try InputText.validate("  \t ", field: .answer)
        }
        #expect(throws: ActivationError(.invalidInput(field: .file, problem: .invalidUTF8))) {
            try InputText.decode([0x41, 0xFF, 0x42], field: .file)
        }
        #expect((try? InputText.validate("  Montréal ", field: .answer)) == "Montréal")
    }

    @Test func printableNeverCarriesControls() {
        let shown = InputText.printable("a\u{1B}[2Jb\u{9B}c", limit: 60)
        #expect(!shown.unicodeScalars.contains { InputText.isControl($0) })
    }
}

@Suite struct LocalizationTests {
    @Test func everyKeyExistsInBothLanguages() {
        #expect(!Localizer(.en).keys.isEmpty)
        #expect(Localizer(.en).keys == Localizer(.fr).keys)
    }

    @Test func errorsSpeakBothLanguagesAndFillFigures() {
        let error = ActivationError(.wrongAnswers(remaining: 3))
        #expect(error.message(in: .en).contains("3 attempts remain"))
        #expect(error.message(in: .fr).contains("Il reste 3 tentatives"))
        #expect(ActivationError(.wrongAnswers(remaining: 1)).message(in: .en).contains("1 attempt remains"))
        #expect(!error.message(in: .en).contains("{"))
    }

    @Test func maskedAddress() {
        #expect(maskedEmail("jeanne@example.com") == "j•••@example.com")
        #expect(maskedEmail("nobody") == "•••")
    }

    /// Issue 10.11: letters of every script are kept (NFC), never a bare "profile"; traversal is impossible.
    @Test func profileName() {
        func name(_ name: String, _ email: String = "j@x.ca") -> String { Subscriber(name: name, email: email, language: .fr).profileName }
        #expect(name("Jeanne Tremblay") == "Jeanne_Tremblay")
        #expect(name("Hélène D'Amours-Côté") == "Hélène_D_Amours-Côté")
        #expect(name("He\u{301}le\u{300}ne") == "Hélène", "NFC: the decomposed é becomes one character")
        #expect(name("王小明") == "王小明")
        #expect(name("Алёна Иванова") == "Алёна_Иванова")
        #expect(name("محمد علي") == "محمد_علي")
        #expect(name("../../etc/passwd") == "etc_passwd")
        #expect(name("..", "wang.xiaoming@example.cn") == "profile_wang_xiaoming")
        #expect(name("--rf /", "-x@example.cn") == "rf")
        #expect(name("...", "...@example.cn") == "profile")
        for hostile in ["..", "/", "a/../b", "\u{0}", ".hidden", "a\u{202E}b", String(repeating: "界", count: 200)] {
            let stem = name(hostile)
            #expect(!stem.contains("/") && !stem.contains("..") && !stem.hasPrefix(".") && !stem.contains("\u{0}"), "\(stem)")
            #expect(stem.utf8.count <= 120)
        }
    }
}
