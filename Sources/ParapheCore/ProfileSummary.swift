#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What the user sees about an opened profile.
public struct ProfileSummary: Sendable, Equatable {
    /// Subject DN, RFC 4514 style (`CN=Jeanne Tremblay`).
    public var subject: String
    /// Subject common name.
    public var commonName: String
    /// First rfc822Name of the subject alternative names.
    public var email: String?
    /// Serial number as colon-separated uppercase hex (like openssl).
    public var serialHex: String
    /// SHA-256 over the certificate DER, colon-separated uppercase hex.
    public var sha256Fingerprint: String
    /// Start of validity.
    public var notBefore: Date
    /// End of validity.
    public var notAfter: Date
    /// Issuer DN, RFC 4514 style.
    public var issuer: String
    /// Algorithm of the profile's key.
    public var keyAlgorithm: KeyAlgorithm

    /// Creates a summary.
    public init(
        subject: String, commonName: String, email: String?, serialHex: String, sha256Fingerprint: String,
        notBefore: Date, notAfter: Date, issuer: String, keyAlgorithm: KeyAlgorithm
    ) {
        self.subject = subject
        self.commonName = commonName
        self.email = email
        self.serialHex = serialHex
        self.sha256Fingerprint = sha256Fingerprint
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.issuer = issuer
        self.keyAlgorithm = keyAlgorithm
    }
}
