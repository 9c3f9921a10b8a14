/// Why decoding, checking or running a CMP exchange failed; the reason is short English and never holds a secret.
public struct CMPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, for callers that branch on it.
    public enum Code: Sendable, Equatable {
        case malformed
        case unsupportedVersion
        case unsupportedBody
        case notProtected
        case wrongProtectionAlgorithm
        case badMAC
        case badSignature
        case iterationCountOutOfRange
        case badProofOfPossession
        case unexpectedResponse
        case transactionMismatch
        case nonceMismatch
        /// The peer refused (an `error` body, or a rejection status in a response); carries its status.
        case rejected(PKIStatusInfo)
        case invalidArgument
    }

    public var code: Code
    public var reason: String
    /// For `.rejected` from an `error` message: its errorDetails, and whether the message's protection
    /// verified with our secret (only then may the details be believed).
    public var errorDetails: [String] = []
    public var authenticated = false

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "CMP: \(reason)" }

    static func malformed(_ reason: String) -> CMPError { CMPError(.malformed, reason) }
}

/// Runs `body`, turning any decoding error into `CMPError.malformed` (keeping CMPErrors as they are).
func decoding<T>(_ what: String, _ body: () throws -> T) throws(CMPError) -> T {
    do {
        return try body()
    } catch let error as CMPError {
        throw error
    } catch {
        throw CMPError.malformed("malformed \(what)")
    }
}
