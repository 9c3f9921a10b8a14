/// The key types a profile can hold: the one list the keystore generates, the wizard offers and the
/// command line parses.
public enum KeyAlgorithm: String, CaseIterable, Sendable, Codable {
    /// RSA 2048-bit, signatures with SHA-256 / PKCS#1 v1.5 (the default).
    case rsa2048
    /// RSA 3072-bit, signatures with SHA-256 / PKCS#1 v1.5.
    case rsa3072
    /// ECDSA on NIST P-256 with SHA-256.
    case p256

    /// The default algorithm (`rsa2048`).
    public static let `default`: KeyAlgorithm = .rsa2048

    /// The string-table key of its label ("RSA 2048-bit").
    public var labelKey: String { "key.\(rawValue)" }
}
