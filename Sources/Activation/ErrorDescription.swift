/// What the person reads about an error, whatever module raised it (a string-table key, so a screen can render it
/// again in the other language), and the exit status a command ends with.
///
/// Each error type maps its own codes (`ParapheError`); this only reads them. The screens, plain mode and every
/// command of both programs use it.
public struct ErrorDescription: Sendable, Equatable {
    public var messageKey: String
    public var arguments: [String: String]
    public var exitStatus: Int32
    /// A rule refusal renders its own message (dates and counts in the reader's language).
    public var activationError: ActivationError?

    public init(_ error: any Error) {
        activationError = error as? ActivationError
        if let error = error as? any ParapheError {
            messageKey = error.messageKey
            arguments = error.messageArguments
            exitStatus = error.exitStatus
        } else {
            messageKey = "cli.error.unexpected"
            arguments = [:]
            exitStatus = ExitStatus.software
        }
    }

    /// The message in `language`.
    public func message(in language: Language) -> String { message(Localizer(language)) }

    /// The message in `localizer`'s language, with its customer service when the message sends the person there.
    public func message(_ localizer: Localizer) -> String {
        activationError?.message(localizer) ?? localizer.text(messageKey, arguments)
    }
}
