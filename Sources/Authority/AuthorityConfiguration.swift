import Activation
import AuthorityInterface
import Foundation

/// How an `EmbeddedAuthority` is set up: where it keeps its files, its answer-hashing cost, and
/// its injected clock and random source.
public struct AuthorityConfiguration: Sendable {
    /// Holds `registry.sqlite`, `authority.key`, `ca/` and `mail/`.
    ///
    /// Created 0700 if missing; refused if writable by group or others, or not owned by the current
    /// user.
    public var dataDirectory: URL
    /// PBKDF2-HMAC-SHA256 iterations for new security-answer hashes (each hash keeps its own count,
    /// so raising this later leaves existing answers valid).
    public var answerHashIterations: Int
    /// The clock every rule runs on.
    public var time: any TimeSource
    /// Random bytes for tokens, codes, salts, serial numbers and file names.
    public var random: any RandomSource
    /// Who the audit log names for operator actions (approve, revoke).
    public var operatorName: String
    /// The SQLite registry, when not `registry.sqlite` in the data directory (`--database sqlite:PATH`).
    public var registryFile: URL?
    /// Where the emails go (`--mail`); nil: the Maildir `DATA/mail`.
    public var mail: MailDestination?
    /// Whom the person contacts; nil: the emails say "contact our Customer Service" alone.
    ///
    /// From `customer-service.toml` in the data directory, or `--customer-service`: published at `GET /api/v1/about`
    /// and named in every email.
    public var customerService: CustomerService?
    /// Hears each named moment of the authority's work (the end-to-end tests stop the process there).
    public var checkpoint: @Sendable (AuthorityCheckpoint) -> Void = { _ in }

    public init(
        dataDirectory: URL,
        answerHashIterations: Int = 600_000,
        time: any TimeSource = SystemTimeSource(),
        random: any RandomSource = SystemRandomSource(),
        operatorName: String = ProcessInfo.processInfo.userName
    ) {
        self.dataDirectory = dataDirectory
        self.answerHashIterations = answerHashIterations
        self.time = time
        self.random = random
        self.operatorName = operatorName
    }
}

/// Named moments of the authority's work, for an observer (`AuthorityConfiguration.checkpoint`).
public enum AuthorityCheckpoint: String, CaseIterable, Sendable {
    /// A change that sends an email is committed, the email in the outbox, not yet delivered.
    case mailCommitted
}
