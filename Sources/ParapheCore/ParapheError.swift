/// The one shape of Paraphe's errors, whatever module raises them: a `code` to switch on (equality
/// compares codes only), a short English `reason` that never holds a secret, and where it was raised.
///
/// Each error type says, by one exhaustive switch on its codes, what the person reads (`messageKey`, a
/// string-table key, with `messageArguments`) and how a command ends (`exitStatus`): adding a code fails to
/// build until it is given both. `ErrorDescription` (Activation) reads them for the screens and the commands.
public protocol ParapheError: Error, Sendable, CustomStringConvertible {
    associatedtype Code: Equatable & Sendable
    var code: Code { get }
    var reason: String { get }
    var fileID: String { get }
    var line: Int { get }
    /// The string-table key of the message the person reads.
    var messageKey: String { get }
    /// The message's arguments (never a secret); the reason as `detail` unless the type says otherwise.
    var messageArguments: [String: String] { get }
    /// The exit status a command ends with (one of `ExitStatus`'s).
    var exitStatus: Int32 { get }
}

extension ParapheError {
    public var messageArguments: [String: String] { ["detail": reason] }
}

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
