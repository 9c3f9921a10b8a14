import Activation
import Foundation

/// What the operator submits to approve an application.
public struct ApprovalRequest: Sendable {
    public var subscriber: Subscriber
    /// The three security questions, in order.
    public var questions: [String]
    /// The three answers, in the order of the questions.
    public var answers: [SecurityAnswer]
    /// When the approval happened; nil means now.
    public var approvedAt: Date?

    public init(subscriber: Subscriber, questions: [String], answers: [SecurityAnswer], approvedAt: Date? = nil) {
        self.subscriber = subscriber
        self.questions = questions
        self.answers = answers
        self.approvedAt = approvedAt
    }
}

/// What approval produced: the link that went out by mail.
public struct ApprovalReceipt: Sendable, Equatable {
    public var token: ApplicationToken
    public var link: String { token.link }
    public var reference: ReferenceNumber
    public var expiresAt: Date
    /// The file the approval email landed in when it went to a Maildir (nil: handed to sendmail, or waiting).
    public var mailFile: URL?
    /// The email could not be delivered yet: it waits in the outbox.
    public var mailQueued: Bool

    public init(token: ApplicationToken, reference: ReferenceNumber, expiresAt: Date, mailFile: URL?, mailQueued: Bool = false) {
        self.token = token
        self.reference = reference
        self.expiresAt = expiresAt
        self.mailFile = mailFile
        self.mailQueued = mailQueued
    }
}

/// What anyone holding the link may learn (steps 1 and 2): no personal data beyond the language.
public struct ApplicationOverview: Sendable, Equatable {
    public var token: ApplicationToken
    public var status: ApplicationStatus
    public var language: Language
    /// The three questions, in order.
    public var questions: [String]
    public var identityAttemptsRemaining: Int

    public init(token: ApplicationToken, status: ApplicationStatus, language: Language, questions: [String], identityAttemptsRemaining: Int) {
        self.token = token
        self.status = status
        self.language = language
        self.questions = questions
        self.identityAttemptsRemaining = identityAttemptsRemaining
    }
}

/// A successful identity check: the subscriber's details and the authorization code, released now.
public struct IdentityVerification: Sendable, Equatable {
    public var subscriber: Subscriber
    public var authorization: AuthorizationCode
    public var codesIssuedAt: Date
    public var codesExpireAt: Date
    /// The codes can no longer be redeemed (expired, or 5 wrong reference numbers): renew first.
    public var renewalNeeded: Bool
    /// Why renewal is needed, if it is.
    public var renewalReason: ActivationError?

    public init(
        subscriber: Subscriber, authorization: AuthorizationCode, codesIssuedAt: Date, codesExpireAt: Date, renewalNeeded: Bool,
        renewalReason: ActivationError?
    ) {
        self.subscriber = subscriber
        self.authorization = authorization
        self.codesIssuedAt = codesIssuedAt
        self.codesExpireAt = codesExpireAt
        self.renewalNeeded = renewalNeeded
        self.renewalReason = renewalReason
    }
}

/// A renewal: the new authorization code (the reference number went out by mail only).
public struct RenewalReceipt: Sendable, Equatable {
    public var authorization: AuthorizationCode
    public var issuedAt: Date
    public var expiresAt: Date
    /// `j•••@example.com`.
    public var maskedEmail: String
    /// The delivered mail, when the authority is on this machine (nil over the network).
    public var mailFile: URL?

    public init(authorization: AuthorizationCode, issuedAt: Date, expiresAt: Date, maskedEmail: String, mailFile: URL?) {
        self.authorization = authorization
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.maskedEmail = maskedEmail
        self.mailFile = mailFile
    }
}

/// A certificate issued for a CSR: DER of the leaf, then the CA chain (leaf's issuer first).
public struct IssuedCertificate: Sendable, Equatable {
    public var certificateDER: [UInt8]
    public var chainDER: [[UInt8]]

    public init(certificateDER: [UInt8], chainDER: [[UInt8]]) {
        self.certificateDER = certificateDER
        self.chainDER = chainDER
    }
}

/// The operator's view of an application (never a secret).
public struct ApplicationRecord: Sendable, Equatable, Codable {
    public var token: String
    public var link: String
    public var name: String
    public var email: String
    public var language: Language
    public var status: ApplicationStatus
    public var identityAttemptsRemaining: Int
    public var reference: String
    public var codesIssuedAt: Date
    public var codesExpireAt: Date
    public var renewalsLast24h: Int
    public var wrongReferencesInARow: Int
    public var approvedAt: Date
    public var activatedAt: Date?
    public var certificateSerial: String?
    /// How the authority's logs name the application (a keyed digest of its token), to find its lines.
    public var logName: String?
    /// When a recovery was asked for and waits for its identity check.
    public var recoveryRequestedAt: Date?

    public init(
        token: String, link: String, name: String, email: String, language: Language, status: ApplicationStatus, identityAttemptsRemaining: Int,
        reference: String, codesIssuedAt: Date, codesExpireAt: Date, renewalsLast24h: Int, wrongReferencesInARow: Int, approvedAt: Date,
        activatedAt: Date?, certificateSerial: String?, logName: String? = nil, recoveryRequestedAt: Date? = nil
    ) {
        self.logName = logName
        self.recoveryRequestedAt = recoveryRequestedAt
        self.token = token
        self.link = link
        self.name = name
        self.email = email
        self.language = language
        self.status = status
        self.identityAttemptsRemaining = identityAttemptsRemaining
        self.reference = reference
        self.codesIssuedAt = codesIssuedAt
        self.codesExpireAt = codesExpireAt
        self.renewalsLast24h = renewalsLast24h
        self.wrongReferencesInARow = wrongReferencesInARow
        self.approvedAt = approvedAt
        self.activatedAt = activatedAt
        self.certificateSerial = certificateSerial
    }
}

/// One line of the audit log (never a secret).
public struct AuditEntry: Sendable, Equatable, Codable {
    public var id: Int64
    public var at: Date
    public var actor: String
    public var event: String
    public var token: String?
    public var detail: String

    public init(id: Int64, at: Date, actor: String, event: String, token: String?, detail: String) {
        self.id = id
        self.at = at
        self.actor = actor
        self.event = event
        self.token = token
        self.detail = detail
    }
}

/// The certification authority's side of activation.
///
/// The embedded implementation keeps everything on this machine; a networked one can
/// replace it without touching the wizard. Rule refusals are thrown as `ActivationError`;
/// other failures as `AuthorityError`.
public protocol Authority: Sendable {
    /// Approves an application: stores it, issues the first codes, mails the link and reference number.
    func approve(_ request: ApprovalRequest) async throws -> ApprovalReceipt
    /// Step 1: the application behind a token (unknown → `.unknownApplication`).
    func overview(of token: ApplicationToken) async throws -> ApplicationOverview
    /// Step 2: checks the three answers (2 of 3 must match); a failure uses one of 5 attempts.
    func verifyIdentity(token: ApplicationToken, answers: [SecurityAnswer]) async throws -> IdentityVerification
    /// Step 4: replaces the codes (at most 3 renewals in 24 h) and mails the new reference number.
    /// `authorization` is the code released by the identity check (proof it passed).
    func renewCodes(token: ApplicationToken, authorization: AuthorizationCode) async throws -> RenewalReceipt
    /// Step 5: checks the codes and issues the certificate for the CSR (PKCS#10 DER). Idempotent for the
    /// same public key once activated, so an interrupted activation can resume.
    func issueCertificate(token: ApplicationToken, reference: ReferenceNumber, authorization: AuthorizationCode, csrDER: [UInt8]) async throws
        -> IssuedCertificate
    /// The authority's CA certificate (DER), the trust anchor workstations install.
    func caCertificateDER() async throws -> [UInt8]
    /// The CA certificate's SHA-256 fingerprint when the person must confirm it before it is installed
    /// (a networked authority reached without a pinned fingerprint); nil when there is nothing to confirm.
    func caFingerprintToConfirm() async throws -> String?
    /// The authority's newest certificate revocation list (DER), if it publishes one.
    func revocationList() async throws -> [UInt8]?
    /// The person compared `fingerprint` (the SHA-256 of the CA the authority offers) with the one their
    /// certification authority published and trusts it: a networked authority may now send to it (this run).
    func trustAuthority(fingerprint: String) async throws
    /// One CMP exchange (RFC 9810): a DER PKIMessage in, the authority's answer out. The holder of a
    /// certificate updates (`kur`) or revokes (`rr`) it this way.
    func cmp(_ message: [UInt8]) async throws -> [UInt8]
    /// "Recover my digital signature": if an activated application has this email address, a recovery
    /// email goes out (new reference number, same link). The answer says nothing either way.
    func requestRecovery(email: String) async throws
    /// Whom the person contacts when a message sends them to customer service (nil: the authority names none).
    func customerService() async throws -> CustomerService?
}

extension Authority {
    public func caFingerprintToConfirm() async throws -> String? { nil }
    public func revocationList() async throws -> [UInt8]? { nil }
    public func trustAuthority(fingerprint: String) async throws {}
}

/// A failure of the authority's machinery (not a rule refusal).
public struct AuthorityError: ParapheError, Equatable {
    public enum Code: String, Sendable, Equatable {
        /// The CSR is not valid PKCS#10, or its signature does not verify.
        case csrInvalid
        /// The registry could not be opened, read or written.
        case storage
        /// The data directory is missing, unsafe (writable by others), or cannot be created.
        case dataDirectory
        /// The CA key or certificate is unreadable or damaged.
        case certificateAuthority
        /// This instance's CA is not the one the shared registry was initialised with.
        case otherCA
        /// A mail could not be delivered to the Maildir.
        case mail
        /// The request itself is not acceptable (e.g. not exactly three questions).
        case badRequest
        /// The requester proved who it is but may not do this (e.g. a replaced certificate asking for an update).
        case notAuthorized
        /// The authority is too busy to take this now (its workers and their queue are full): retry shortly.
        case busy
        /// The registry's database cannot be reached now (restarting, or the network to it cut): retry shortly.
        case unavailable
    }

    public let code: Code
    /// A short English reason; never a secret, never raw input.
    public let reason: String
    public let fileID: String
    public let line: Int

    public init(_ code: Code, _ reason: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.fileID = fileID
        self.line = line
    }

    public static func == (lhs: AuthorityError, rhs: AuthorityError) -> Bool { lhs.code == rhs.code }

    public var messageKey: String { "cli.error.authority.\(code.rawValue)" }

    public var exitStatus: Int32 {
        switch code {
        case .csrInvalid, .badRequest: ExitStatus.dataError
        case .dataDirectory: ExitStatus.cantCreate
        case .storage, .mail, .certificateAuthority: ExitStatus.ioError
        case .otherCA: ExitStatus.config
        case .notAuthorized: ExitStatus.refused
        case .busy, .unavailable: ExitStatus.unavailable
        }
    }

    public var description: String { reason }
}

/// A networked authority could not be reached or answered in a way that is not a rule refusal.
///
/// The person stays on the step, retries, and nothing was used up: a request that never arrived
/// spent nothing, and the authority applies a request at most once.
public struct AuthorityConnectionError: ParapheError, Equatable {
    public enum Code: String, Sendable, Equatable {
        /// No connection (refused, no route, name unknown).
        case unreachable
        /// Connected but no answer in time (connect or request timeout).
        case timedOut
        /// The TLS handshake failed: the service's certificate is not from the pinned authority.
        case tls
        /// The CA certificate the service offers is not the one whose fingerprint was configured.
        case fingerprintMismatch
        /// The authority's CA is neither pinned (a configured fingerprint), nor in this workstation's trust store,
        /// nor confirmed by the person: nothing but `GET /api/v1/ca` was sent. `reason` is the fingerprint offered.
        case notPinned
        /// The service answered 5xx.
        case serverFailure
        /// The service refused for too many requests (429); wait and retry.
        case rateLimited
        /// The answer is not what the protocol says (bad JSON, bad CMP message, wrong protection).
        case malformedResponse
    }

    public let code: Code
    /// A short English reason; never a secret.
    public let reason: String
    public let fileID: String
    public let line: Int

    public init(_ code: Code, _ reason: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.fileID = fileID
        self.line = line
    }

    public var messageKey: String { "cli.error.network.\(code.rawValue)" }

    public var exitStatus: Int32 {
        switch code {
        case .fingerprintMismatch: ExitStatus.refused
        // Not an outage: the command needs the authority pinned (a flag or a configuration line).
        case .notPinned: ExitStatus.usage
        case .unreachable, .timedOut, .tls, .serverFailure, .rateLimited, .malformedResponse: ExitStatus.unavailable
        }
    }

    public static func == (lhs: AuthorityConnectionError, rhs: AuthorityConnectionError) -> Bool { lhs.code == rhs.code }

    public var description: String { reason }
}
