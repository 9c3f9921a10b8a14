import Foundation

/// A refusal or failure of the activation rules.
///
/// It says what happened and what the person can do next, in English and French; it never
/// contains a secret. Equal by code.
public struct ActivationError: ParapheError, Equatable {
    /// What went wrong, with the figures the message needs.
    public enum Code: Equatable, Sendable {
        case linkMalformed
        case unknownApplication
        case alreadyActivated
        case identityLocked
        case revoked
        case wrongAnswers(remaining: Int)
        case identityNotVerified
        case codesExpired(expiredAt: Date)
        case renewalLimit(nextAllowedAt: Date)
        case referenceMalformed
        case referenceCheckDigit
        case wrongReference(remaining: Int)
        case renewalRequired
        case codesUsed
        case passwordRejected([PasswordRule])
        case invalidInput(field: InputField, problem: InputProblem)
    }

    public let code: Code
    public let fileID: String
    public let line: Int

    public init(_ code: Code, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.fileID = fileID
        self.line = line
    }

    public static func == (lhs: ActivationError, rhs: ActivationError) -> Bool { lhs.code == rhs.code }

    /// The string-table key of the message.
    public var messageKey: String {
        switch code {
        case .linkMalformed: "error.linkMalformed"
        case .unknownApplication: "error.unknownApplication"
        case .alreadyActivated: "error.alreadyActivated"
        case .identityLocked: "error.identityLocked"
        case .revoked: "error.revoked"
        case .wrongAnswers(let remaining): remaining == 1 ? "error.wrongAnswers.one" : "error.wrongAnswers"
        case .identityNotVerified: "error.identityNotVerified"
        case .codesExpired: "error.codesExpired"
        case .renewalLimit: "error.renewalLimit"
        case .referenceMalformed: "error.referenceMalformed"
        case .referenceCheckDigit: "error.referenceCheckDigit"
        case .wrongReference(let remaining): remaining == 1 ? "error.wrongReference.one" : "error.wrongReference"
        case .renewalRequired: "error.renewalRequired"
        case .codesUsed: "error.codesUsed"
        case .passwordRejected: "error.passwordRejected"
        case .invalidInput(_, let problem): "error.input.\(problem.rawValue)"
        }
    }

    /// This application cannot go on (from any workstation): the person is told what to do and nothing more is sent.
    public var endsApplication: Bool {
        switch code {
        case .alreadyActivated, .identityLocked, .revoked, .codesUsed: true
        case .linkMalformed, .unknownApplication, .wrongAnswers, .identityNotVerified, .codesExpired, .renewalLimit, .referenceMalformed,
            .referenceCheckDigit, .wrongReference, .renewalRequired, .passwordRejected, .invalidInput:
            false
        }
    }

    /// Rendered by `message(in:)` (dates and counts in the reader's language), not from arguments.
    public var messageArguments: [String: String] { [:] }

    /// How a command ends on this refusal: a malformed input is a data error, a rule's refusal is refused.
    public var exitStatus: Int32 {
        switch code {
        case .linkMalformed, .unknownApplication, .referenceMalformed, .referenceCheckDigit, .invalidInput, .passwordRejected:
            ExitStatus.dataError
        case .alreadyActivated, .identityLocked, .revoked, .wrongAnswers, .identityNotVerified, .codesExpired, .renewalLimit,
            .wrongReference, .renewalRequired, .codesUsed:
            ExitStatus.refused
        }
    }

    /// The message in `language`, ready for a screen or one line of stderr.
    public func message(in language: Language) -> String { message(Localizer(language)) }

    /// The message in `localizer`'s language, with its customer service when the message sends the person there.
    public func message(_ localizer: Localizer) -> String {
        var arguments: [String: String] = [:]
        switch code {
        case .wrongAnswers(let remaining), .wrongReference(let remaining):
            arguments["remaining"] = String(remaining)
        case .codesExpired(let date):
            arguments["date"] = localizer.dateTime(date)
        case .renewalLimit(let date):
            arguments["date"] = localizer.dateTime(date)
        case .passwordRejected(let rules):
            arguments["rules"] = rules.map { localizer.text($0.messageKey) }.joined(separator: "; ")
        case .invalidInput(let field, _):
            arguments["field"] = localizer.text(field.messageKey)
            arguments["limit"] = String(field.limit)
        default:
            break
        }
        return localizer.text(messageKey, arguments)
    }

    public var description: String { message(in: .en) }

    /// The English message (never a secret).
    public var reason: String { message(in: .en) }
}

extension ActivationError: LocalizedError {
    public var errorDescription: String? { message(in: .en) }
}
