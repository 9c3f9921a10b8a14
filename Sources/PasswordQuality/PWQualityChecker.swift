import Activation
import CPWQuality
import Foundation
import Synchronization

/// The common-password check of SPEC §5, done by libpwquality (cracklib dictionary, too
/// simplistic or systematic passwords) plus a short list of words that never belong in a
/// signing password.
public struct PWQualityChecker: PasswordStrengthChecking {
    /// Words rejected anywhere in a password (case-insensitive), in addition to the dictionary.
    public static let badWords = [
        "password", "passw0rd", "motdepasse", "qwerty", "azerty", "123456", "letmein", "welcome", "bienvenue",
        "iloveyou", "jetaime", "admin", "paraphe", "signature", "secret", "monkey", "dragon", "soleil",
    ]

    public init() {}

    public func isCommon(_ password: Password, name: String, email: String) -> Bool {
        let lowered = password.revealed.lowercased()
        if Self.badWords.contains(where: { lowered.contains($0) }) { return true }
        return Self.check(password.revealed, user: email) != nil
    }

    /// cracklib keeps one dictionary open per process and is not thread-safe: one check at a time.
    private static let libraryLock = Mutex(())

    /// libpwquality's verdict: nil when acceptable, otherwise its error code.
    static func check(_ password: String, user: String) -> Int32? {
        withLibrary { uncheckedCheck(password, user: user, dictionary: CracklibDictionary.shared) }
    }

    /// `body` with libpwquality and cracklib to itself.
    static func withLibrary<T>(_ body: () -> T) -> T { libraryLock.withLock { _ in body() } }

    /// The verdict with cracklib's dictionary kept open (`dictionary`), or with libpwquality's own dictionary rule (nil).
    ///
    /// Called under `libraryLock`.
    static func uncheckedCheck(_ password: String, user: String, dictionary: CracklibDictionary?) -> Int32? {
        guard let settings = pwquality_default_settings() else { return nil }
        defer { pwquality_free_settings(settings) }
        // Length is Paraphe's own rule; keep libpwquality's minimum low so it judges only the content.
        _ = pwquality_set_int_value(settings, PWQ_SETTING_MIN_LENGTH, 6)
        // The dictionary rule is cracklib's own lookup on the dictionary this process keeps open (libpwquality would
        // open and read its three files again on every check); where that cannot be, libpwquality's.
        _ = pwquality_set_int_value(settings, PWQ_SETTING_DICT_CHECK, dictionary == nil ? 1 : 0)
        _ = pwquality_set_int_value(settings, PWQ_SETTING_USER_CHECK, 1)
        var auxError: UnsafeMutableRawPointer?
        let score = pwquality_check(settings, password, nil, user, &auxError)
        if score >= 0 {
            guard let dictionary, dictionary.rejects(password, user: user) else { return nil }
            return PWQ_ERROR_CRACKLIB_CHECK
        }
        // Errors that are about the library, not the password, do not reject it.
        switch score {
        case PWQ_ERROR_MEM_ALLOC, PWQ_ERROR_FATAL_FAILURE, PWQ_ERROR_CFGFILE_OPEN, PWQ_ERROR_CFGFILE_MALFORMED,
            PWQ_ERROR_MIN_LENGTH:
            return nil
        default:
            return score
        }
    }
}

/// cracklib's dictionary, opened once for the process: what libpwquality's dictionary rule does on each check
/// (`FascistCheckUser`: open the dictionary, `FascistLookUser`, close it), without the open and close.
///
/// cracklib's functions are found in the process (libpwquality links libcrack), so no cracklib headers are needed to
/// build; used under `PWQualityChecker`'s lock only (cracklib is not thread-safe). cracklib opens one dictionary a
/// process: while this one is open, libpwquality's own dictionary rule could not open it, so it is never asked for.
final class CracklibDictionary: @unchecked Sendable {
    private typealias Open = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?) -> OpaquePointer?
    private typealias LookUser =
        @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> UnsafePointer<CChar>?
    private typealias DefaultPath = @convention(c) () -> UnsafePointer<CChar>?

    private let dictionary: OpaquePointer
    private let lookUser: LookUser

    /// cracklib truncates a password to this many bytes before its lookup (`TRUNCSTRINGSIZE - 1`).
    static let truncatedLength = 255

    /// The default dictionary, open; nil when cracklib or its dictionary cannot be had (libpwquality's own rule then).
    static let shared: CracklibDictionary? = {
        let process = dlopen(nil, RTLD_NOW)
        guard let open = dlsym(process, "PWOpen"), let look = dlsym(process, "FascistLookUser"),
            let defaultPath = dlsym(process, "GetDefaultCracklibDict"),
            let path = unsafeBitCast(defaultPath, to: DefaultPath.self)()
        else { return nil }
        var mode: [CChar] = [0x72, 0]  // "r"
        guard let dictionary = unsafeBitCast(open, to: Open.self)(path, &mode) else { return nil }
        return CracklibDictionary(dictionary: dictionary, lookUser: unsafeBitCast(look, to: LookUser.self))
    }()

    private init(dictionary: OpaquePointer, lookUser: @escaping LookUser) {
        self.dictionary = dictionary
        self.lookUser = lookUser
    }

    /// Whether cracklib finds `password` in the dictionary or too close to `user` (as `FascistCheckUser` would).
    func rejects(_ password: String, user: String) -> Bool {
        var bytes = Array(password.utf8.prefix(Self.truncatedLength)).map { CChar(bitPattern: $0) }
        bytes.append(0)
        defer { bytes.withUnsafeMutableBufferPointer { buffer in for index in buffer.indices { buffer[index] = 0 } } }
        return lookUser(dictionary, bytes, user, nil) != nil
    }
}
