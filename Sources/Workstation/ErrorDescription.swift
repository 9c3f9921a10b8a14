import Activation
import AuthorityInterface
import Keystore

/// Exit statuses (BSD sysexits), as SPEC §7 lists them.
public enum ExitStatus {
    public static let usage: Int32 = 64
    public static let dataError: Int32 = 65
    public static let noInput: Int32 = 66
    public static let unavailable: Int32 = 69
    public static let software: Int32 = 70
    public static let cantCreate: Int32 = 73
    public static let ioError: Int32 = 74
    public static let tempFail: Int32 = 75
    public static let refused: Int32 = 77
    public static let config: Int32 = 78
}

/// The one table from an error, whatever module raised it, to the message the person reads (a
/// string-table key, so a screen can re-render it in the other language) and the exit status a
/// command ends with.
///
/// The screens, plain mode and every command use it.
public struct ErrorDescription: Sendable, Equatable {
    public var messageKey: String
    public var arguments: [String: String]
    public var exitStatus: Int32
    /// A rule refusal renders its own message (dates and counts in the reader's language).
    public var activationError: ActivationError?

    public init(_ error: any Error) {
        activationError = nil
        arguments = [:]
        switch error {
        case let error as ActivationError:
            activationError = error
            messageKey = error.messageKey
            exitStatus =
                switch error.code {
                case .linkMalformed, .unknownApplication, .referenceMalformed, .referenceCheckDigit, .invalidInput, .passwordRejected:
                    ExitStatus.dataError
                default:
                    ExitStatus.refused
                }
        case let error as AuthorityError:
            messageKey = "cli.error.authority.\(error.code.rawValue)"
            arguments = ["detail": error.reason]
            exitStatus =
                switch error.code {
                case .csrInvalid, .badRequest: ExitStatus.dataError
                case .dataDirectory: ExitStatus.cantCreate
                case .storage, .mail, .certificateAuthority: ExitStatus.ioError
                case .otherCA: ExitStatus.config
                case .notAuthorized: ExitStatus.refused
                case .busy: ExitStatus.unavailable
                }
        case let error as AuthorityConnectionError:
            messageKey = "cli.error.network.\(error.code.rawValue)"
            arguments = ["detail": error.reason]
            exitStatus =
                switch error.code {
                case .fingerprintMismatch: ExitStatus.refused
                // Not an outage: the command needs the authority pinned (a flag or a configuration line).
                case .notPinned: ExitStatus.usage
                case .unreachable, .timedOut, .tls, .serverFailure, .rateLimited, .malformedResponse: ExitStatus.unavailable
                }
        case let error as KeystoreError:
            messageKey = "cli.error.keystore.\(error.code.rawValue)"
            arguments = ["detail": error.reason]
            exitStatus =
                switch error.code {
                case .wrongPassword, .keyMismatch, .chainInvalid: ExitStatus.refused
                case .malformed, .unsupportedAlgorithm, .invalidInput: ExitStatus.dataError
                default: ExitStatus.software
                }
        case let error as WorkstationError:
            messageKey = error.messageKey
            arguments = ["detail": error.detail]
            exitStatus =
                switch error.code {
                case .profileStore, .removableProfileFolder, .profileWrite: ExitStatus.cantCreate
                case .componentFailed: ExitStatus.unavailable
                case .trustStore, .login: ExitStatus.ioError
                case .certificateRevoked, .holderRefused: ExitStatus.refused
                case .provider: ExitStatus.unavailable
                case .applicationRunning: ExitStatus.tempFail
                }
        default:
            messageKey = "cli.error.unexpected"
            exitStatus = ExitStatus.software
        }
    }

    /// The message in `language`.
    public func message(in language: Language) -> String {
        activationError?.message(in: language) ?? Localizer(language).text(messageKey, arguments)
    }
}
