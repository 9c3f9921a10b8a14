import Activation

/// A failure on the workstation side (files, components), with what to do next.
public struct WorkstationError: ParapheError, Equatable {
    public enum Code: String, Sendable, Equatable {
        /// The profile store (or `--profile-dir`) is missing or not writable.
        case profileStore
        /// A kiosk's fixed `--profile-dir` (removable medium) is missing or not writable: nothing else
        /// may be chosen there, so the advice is to plug the medium back in.
        case removableProfileFolder
        /// The local trust store is missing or damaged.
        case trustStore
        /// A component check failed and cannot be fixed by Paraphe.
        case componentFailed
        /// Writing the profile failed.
        case profileWrite
        /// Logging in to the new profile failed.
        case login
        /// The profile's certificate is on the authority's CRL.
        case certificateRevoked
        /// The authority refused a certificate holder's request (update or revocation).
        case holderRefused
        /// The keystore provider could not be registered for the user's applications (module or NSS tools missing,
        /// a database that refused the change).
        case provider
        /// An application has one of the user's certificate databases open: it must be closed first.
        case applicationRunning
    }

    public let code: Code
    /// A short English fact for logs and stderr: paths, never secrets.
    public let detail: String
    /// What the command the message suggests must carry (the folders in use).
    public let commandOptions: CommandOptions
    public let fileID: String
    public let line: Int

    public init(
        _ code: Code, _ detail: String, suggesting commandOptions: CommandOptions = CommandOptions(), fileID: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.detail = detail
        self.commandOptions = commandOptions
        self.fileID = fileID
        self.line = line
    }

    public static func == (lhs: WorkstationError, rhs: WorkstationError) -> Bool { lhs.code == rhs.code }

    public var messageKey: String { "workstation.error.\(code.rawValue)" }

    public var messageArguments: [String: String] { commandOptions.arguments.merging(["detail": detail]) { _, detail in detail } }

    public var exitStatus: Int32 {
        switch code {
        case .profileStore, .removableProfileFolder, .profileWrite: ExitStatus.cantCreate
        case .componentFailed, .provider: ExitStatus.unavailable
        case .trustStore, .login: ExitStatus.ioError
        case .certificateRevoked, .holderRefused: ExitStatus.refused
        case .applicationRunning: ExitStatus.tempFail
        }
    }

    /// The message in `language`.
    public func message(in language: Language) -> String {
        Localizer(language).text(messageKey, messageArguments)
    }

    public var description: String { message(in: .en) }

    public var reason: String { detail }
}
