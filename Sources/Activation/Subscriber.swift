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

    /// `local@domain.tld`: ASCII (an X.509 rfc822Name is an IA5String), one `@`, no blanks or
    /// brackets, a dotted domain without empty labels.
    public static func looksLikeEmail(_ email: String) -> Bool {
        let forbidden: Set<Character> = [" ", "<", ">", "(", ")", "[", "]", ",", ";", ":", "\\", "\""]
        guard email.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }),
            !email.contains(where: forbidden.contains)
        else { return false }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }
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

/// What step 5 needs to activate.
public struct ActivationRequest: Sendable, Equatable {
    public var token: ApplicationToken
    public var subscriber: Subscriber
    public var reference: ReferenceNumber
    public var authorization: AuthorizationCode
    public var password: Password
    public var keyAlgorithm: KeyAlgorithm

    public init(
        token: ApplicationToken, subscriber: Subscriber, reference: ReferenceNumber, authorization: AuthorizationCode, password: Password,
        keyAlgorithm: KeyAlgorithm = .rsa2048
    ) {
        self.token = token
        self.subscriber = subscriber
        self.reference = reference
        self.authorization = authorization
        self.password = password
        self.keyAlgorithm = keyAlgorithm
    }
}
