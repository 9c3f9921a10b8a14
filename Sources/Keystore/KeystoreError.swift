import ParapheCore

/// An error thrown by the Keystore module: a `code` to switch on, a short English reason and the source location.
///
/// Equality (and hashing) consider only the `code`, so tests can compare against `KeystoreError(.wrongPassword)`.
/// The reason never contains a password or key material.
public struct KeystoreError: ParapheError, Hashable {
    /// The kind of failure.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The password does not open the keystore (MAC or decryption check failed).
        case wrongPassword
        /// The input is not a well-formed structure of the expected kind (or is absurdly large).
        case malformed
        /// The input uses an algorithm this module does not support (e.g. legacy RC2/3DES PKCS#12).
        case unsupportedAlgorithm
        /// The private key does not belong to the certificate.
        case keyMismatch
        /// The certificate does not chain to a trusted root.
        case chainInvalid
        /// A file-system operation failed.
        case ioFailure
        /// Requested or found protection parameters are too weak or out of range.
        case weakParameters
        /// An invalid argument was supplied by the caller.
        case invalidInput
        /// A cryptographic primitive failed unexpectedly.
        case cryptoFailure
        /// The keystore self-test produced a wrong answer.
        case selfTestFailed
    }

    /// The kind of failure.
    public let code: Code
    /// A short English explanation (never contains secrets).
    public let reason: String
    /// The file (`#fileID`) where the error was raised.
    public let fileID: String
    /// The line where the error was raised.
    public let line: Int

    /// Creates an error; `reason` must not contain secrets.
    public init(_ code: Code, _ reason: String = "", fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.fileID = fileID
        self.line = line
    }

    public var messageKey: String { "cli.error.keystore.\(code.rawValue)" }

    public var exitStatus: Int32 {
        switch code {
        case .wrongPassword, .keyMismatch, .chainInvalid: ExitStatus.refused
        case .malformed, .unsupportedAlgorithm, .invalidInput: ExitStatus.dataError
        case .ioFailure, .weakParameters, .cryptoFailure, .selfTestFailed: ExitStatus.software
        }
    }

    /// "KeystoreError.code: reason file:line".
    public var description: String {
        "KeystoreError.\(code.rawValue): \(reason) \(fileID):\(line)"
    }

    /// Compares only the codes.
    public static func == (lhs: KeystoreError, rhs: KeystoreError) -> Bool {
        lhs.code == rhs.code
    }

    /// Hashes only the code.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
    }

    /// The password does not open the keystore.
    public static func wrongPassword(_ reason: String, fileID: String = #fileID, line: Int = #line) -> KeystoreError {
        KeystoreError(.wrongPassword, reason, fileID: fileID, line: line)
    }

    /// The input is not well formed.
    public static func malformed(_ reason: String, fileID: String = #fileID, line: Int = #line) -> KeystoreError {
        KeystoreError(.malformed, reason, fileID: fileID, line: line)
    }

    /// The input uses an unsupported algorithm.
    public static func unsupportedAlgorithm(_ reason: String, fileID: String = #fileID, line: Int = #line) -> KeystoreError {
        KeystoreError(.unsupportedAlgorithm, reason, fileID: fileID, line: line)
    }

    /// The key does not belong to the certificate.
    public static func keyMismatch(_ reason: String, fileID: String = #fileID, line: Int = #line) -> KeystoreError {
        KeystoreError(.keyMismatch, reason, fileID: fileID, line: line)
    }

    /// The certificate chain does not validate.
    public static func chainInvalid(_ reason: String, fileID: String = #fileID, line: Int = #line) -> KeystoreError {
        KeystoreError(.chainInvalid, reason, fileID: fileID, line: line)
    }

    /// A file-system operation failed.
    public static func ioFailure(_ reason: String, fileID: String = #fileID, line: Int = #line) -> KeystoreError {
        KeystoreError(.ioFailure, reason, fileID: fileID, line: line)
    }

    /// Parameters are too weak or out of range.
    public static func weakParameters(_ reason: String, fileID: String = #fileID, line: Int = #line) -> KeystoreError {
        KeystoreError(.weakParameters, reason, fileID: fileID, line: line)
    }

    /// The caller supplied an invalid argument.
    public static func invalidInput(_ reason: String, fileID: String = #fileID, line: Int = #line) -> KeystoreError {
        KeystoreError(.invalidInput, reason, fileID: fileID, line: line)
    }

    /// A cryptographic primitive failed.
    public static func cryptoFailure(_ reason: String, fileID: String = #fileID, line: Int = #line) -> KeystoreError {
        KeystoreError(.cryptoFailure, reason, fileID: fileID, line: line)
    }

    /// The self-test failed.
    public static func selfTestFailed(_ reason: String, fileID: String = #fileID, line: Int = #line) -> KeystoreError {
        KeystoreError(.selfTestFailed, reason, fileID: fileID, line: line)
    }
}

/// Runs `body`, converting any non-`KeystoreError` into `KeystoreError(code, reason)` (the underlying error text is not kept: it could echo input).
@inline(__always)
func mapError<T>(
    _ code: KeystoreError.Code,
    _ reason: @autoclosure () -> String,
    fileID: String = #fileID,
    line: Int = #line,
    _ body: () throws -> T
) throws(KeystoreError) -> T {
    do {
        return try body()
    } catch let error as KeystoreError {
        throw error
    } catch {
        throw KeystoreError(code, reason(), fileID: fileID, line: line)
    }
}
