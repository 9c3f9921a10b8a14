/// The one shape of Paraphe's errors, whatever module raises them: a `code` to switch on (equality
/// compares codes only), a short English `reason` that never holds a secret, and where it was raised.
///
/// `ErrorDescription` (Workstation) is the one table from an error to its message and exit status.
public protocol ParapheError: Error, Sendable, CustomStringConvertible {
    associatedtype Code: Equatable & Sendable
    var code: Code { get }
    var reason: String { get }
    var fileID: String { get }
    var line: Int { get }
}
