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
        libraryLock.withLock { _ in uncheckedCheck(password, user: user) }
    }

    private static func uncheckedCheck(_ password: String, user: String) -> Int32? {
        guard let settings = pwquality_default_settings() else { return nil }
        defer { pwquality_free_settings(settings) }
        // Length is Paraphe's own rule; keep libpwquality's minimum low so it judges only the content.
        _ = pwquality_set_int_value(settings, PWQ_SETTING_MIN_LENGTH, 6)
        _ = pwquality_set_int_value(settings, PWQ_SETTING_DICT_CHECK, 1)
        _ = pwquality_set_int_value(settings, PWQ_SETTING_USER_CHECK, 1)
        var auxError: UnsafeMutableRawPointer?
        let score = pwquality_check(settings, password, nil, user, &auxError)
        if score >= 0 { return nil }
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
