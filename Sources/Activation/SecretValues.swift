import Foundation

/// A value that must never be printed, logged or shown once its field is left.
///
/// Its `description`, `debugDescription` and reflection are redacted, so string
/// interpolation, `print`, `dump` and loggers cannot leak it by accident.
public protocol Secret: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable, Sendable {
    /// The clear value, for the few places that must use it (hashing, encryption).
    var revealed: String { get }
}

extension Secret {
    public var description: String { "•••" }
    public var debugDescription: String { "\(Self.self)(redacted)" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// The password that protects the PKCS#12 profile.
public struct Password: Secret, Equatable {
    public let revealed: String
    public init(_ value: String) { revealed = value }
    /// Number of characters (grapheme clusters), as the person counts them.
    public var count: Int { revealed.count }
}

/// One answer to a security question, as typed.
public struct SecurityAnswer: Secret, Equatable {
    public let revealed: String
    public init(_ value: String) { revealed = value }

    /// The answer as it is compared: case, accents and extra white space ignored.
    public var normalized: String { AnswerNormalizer.normalize(revealed) }
}

/// The authorization code: ≥ 64 random bits, released only after the identity check,
/// never shown on screen or in mail.
public struct AuthorizationCode: Secret, Equatable, Hashable {
    public let revealed: String
    public init(_ value: String) { revealed = value }

    /// A fresh code of 80 random bits, Crockford base32.
    public static func generate(using random: any RandomSource) -> AuthorizationCode {
        AuthorizationCode(Base32.crockford(random.bytes(10)))
    }
}

/// Normalizes security answers: Unicode compatibility decomposition, marks removed,
/// lowercased, runs of white space collapsed to one space, trimmed.
public enum AnswerNormalizer {
    /// `"  Montréal "` → `"montreal"`.
    public static func normalize(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in text.decomposedStringWithCompatibilityMapping.unicodeScalars {
            let properties = scalar.properties
            switch properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark, .format, .control:
                continue
            default:
                break
            }
            if properties.isWhitespace {
                pendingSpace = !scalars.isEmpty
                continue
            }
            if pendingSpace {
                scalars.append(" ")
                pendingSpace = false
            }
            scalars.append(contentsOf: String(scalar).lowercased().unicodeScalars)
        }
        return String(scalars)
    }
}
