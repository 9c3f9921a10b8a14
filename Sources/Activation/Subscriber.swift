import Foundation

/// The person activating, as the authority knows them.
public struct Subscriber: Equatable, Sendable, Codable {
    public var name: String
    public var email: String
    public var language: Language

    public init(name: String, email: String, language: Language) {
        self.name = name
        self.email = email
        self.language = language
    }

    /// A file-name-safe profile name from the full name: `Jeanne Tremblay` → `Jeanne_Tremblay`.
    public var profileName: String {
        if let name = Self.fileStem(name) { return name }
        // A name with no letter or digit at all: the email's local part, so the file is still theirs.
        let local = email.split(separator: "@", maxSplits: 1).first.map(String.init) ?? ""
        return Self.fileStem(local).map { "profile_" + $0 } ?? "profile"
    }

    /// `text` as a file name stem: NFC; letters of every script, their marks, digits and `-` kept;
    /// every other run (spaces, `/`, `.`, quotes, controls) becomes one `_`; no leading `-` or `_`;
    /// at most 120 UTF-8 bytes (a whole character never split), so NAME-99.p12 fits every file system.
    ///
    /// Nil when nothing is left. `..`, `/` and NUL can never come out.
    static func fileStem(_ text: String) -> String? {
        var out = ""
        var pendingSeparator = false
        for character in text.precomposedStringWithCanonicalMapping {
            let kept =
                character.unicodeScalars.allSatisfy { scalar in
                    switch scalar.properties.generalCategory {
                    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                        .nonspacingMark, .spacingMark, .decimalNumber:
                        return true
                    default:
                        return scalar == "-"
                    }
                } && !(character == "-" && out.isEmpty)
            guard kept, character.unicodeScalars.first?.properties.generalCategory.isMark != true || !out.isEmpty else {
                pendingSeparator = !out.isEmpty
                continue
            }
            let piece = (pendingSeparator ? "_" : "") + String(character)
            if out.utf8.count + piece.utf8.count > 120 { break }
            out += piece
            pendingSeparator = false
        }
        return out.isEmpty ? nil : out
    }
}

extension Unicode.GeneralCategory {
    var isMark: Bool { self == .nonspacingMark || self == .spacingMark || self == .enclosingMark }
}
