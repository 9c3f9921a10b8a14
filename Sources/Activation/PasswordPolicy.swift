/// The rules a profile password must meet (SPEC §5), each shown ticking as it is met.
public enum PasswordRule: String, CaseIterable, Sendable, Equatable {
    case minimumLength
    case maximumLength
    case notNameOrEmail
    case notCommon
    case confirmationMatches

    public var messageKey: String { "password.rule.\(rawValue)" }
}

/// Tells whether a password is a common or easily guessed one (libpwquality's dictionary check).
public protocol PasswordStrengthChecking: Sendable {
    /// True if `password` is common, a dictionary word, or too systematic.
    func isCommon(_ password: Password, name: String, email: String) -> Bool
}

/// Where a password stands against each rule.
public struct PasswordCheck: Equatable, Sendable {
    /// Each rule and whether it is met, in display order.
    public var rules: [(rule: PasswordRule, met: Bool)]
    /// The dictionary rule (`notCommon`) was not run for this password yet: it is reported unmet until it is.
    public var dictionaryPending = false

    public init(rules: [(rule: PasswordRule, met: Bool)], dictionaryPending: Bool = false) {
        self.rules = rules
        self.dictionaryPending = dictionaryPending
    }

    public static func == (lhs: PasswordCheck, rhs: PasswordCheck) -> Bool {
        lhs.rules.map(\.rule) == rhs.rules.map(\.rule) && lhs.rules.map(\.met) == rhs.rules.map(\.met)
            && lhs.dictionaryPending == rhs.dictionaryPending
    }

    /// True when every rule is met.
    public var isAcceptable: Bool { rules.allSatisfy(\.met) }

    /// The rules not met yet.
    public var unmet: [PasswordRule] { rules.filter { !$0.met }.map(\.rule) }

    public func isMet(_ rule: PasswordRule) -> Bool { rules.first { $0.rule == rule }?.met ?? false }

    /// The pending dictionary rule's verdict came: `common` leaves `notCommon` unmet.
    public mutating func completeDictionary(common: Bool) {
        guard dictionaryPending else { return }
        dictionaryPending = false
        if let index = rules.firstIndex(where: { $0.rule == .notCommon }) { rules[index].met = !common }
    }
}

/// The password policy: ≥ 12 and ≤ 128 characters, not the name or email, not common, confirmed.
public struct PasswordPolicy: Sendable {
    public var minimumLength = 12
    public var maximumLength = InputField.password.limit
    public let checker: any PasswordStrengthChecking

    public init(checker: any PasswordStrengthChecking) { self.checker = checker }

    /// Evaluates every rule; `confirmation` nil means "not typed yet" (rule unmet).
    ///
    /// Without `checkingDictionary` the dictionary rule (libpwquality, which reads cracklib's files on each call) is
    /// left pending: the wizard runs it when typing pauses, when the field is left and before "Download and
    /// Activate", never on each keystroke.
    public func evaluate(
        _ password: Password, confirmation: Password?, name: String, email: String, checkingDictionary: Bool = true
    ) -> PasswordCheck {
        let length = password.count
        let lengthOK = length >= minimumLength
        let maxOK = length <= maximumLength
        let personalOK = !Self.containsPersonalData(password.revealed, name: name, email: email)
        let pending = lengthOK && maxOK && !checkingDictionary
        let commonOK = lengthOK && maxOK && checkingDictionary && !checker.isCommon(password, name: name, email: email)
        let confirmed = confirmation.map { $0 == password && !password.revealed.isEmpty } ?? false
        return PasswordCheck(
            rules: [
                (.minimumLength, lengthOK),
                (.maximumLength, maxOK),
                (.notNameOrEmail, personalOK && !password.revealed.isEmpty),
                (.notCommon, commonOK),
                (.confirmationMatches, confirmed),
            ], dictionaryPending: pending)
    }

    /// The dictionary rule alone (what a pending `notCommon` waits for).
    public func isCommon(_ password: Password, name: String, email: String) -> Bool { checker.isCommon(password, name: name, email: email) }

    /// Checks a password and its confirmation, throwing the unmet rules.
    public func validate(_ password: Password, confirmation: Password, name: String, email: String) throws(ActivationError) {
        let check = evaluate(password, confirmation: confirmation, name: name, email: email)
        guard check.isAcceptable else { throw ActivationError(.passwordRejected(check.unmet)) }
    }

    /// True if the password contains the email, its local part, or any part of the name of 3+ letters
    /// (compared without case or accents).
    static func containsPersonalData(_ password: String, name: String, email: String) -> Bool {
        let folded = AnswerNormalizer.normalize(password).filter { !$0.isWhitespace }
        let emailFolded = AnswerNormalizer.normalize(email)
        var pieces: [String] = [emailFolded]
        if let at = emailFolded.firstIndex(of: "@") {
            pieces.append(String(emailFolded[..<at]))
            pieces.append(contentsOf: emailFolded[..<at].split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init))
        }
        let nameFolded = AnswerNormalizer.normalize(name)
        pieces.append(nameFolded.filter { !$0.isWhitespace })
        pieces.append(contentsOf: nameFolded.split(whereSeparator: { !$0.isLetter }).map(String.init))
        return pieces.contains { $0.count >= 3 && folded.contains($0) }
    }
}
