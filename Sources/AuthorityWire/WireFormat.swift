import Activation
import AuthorityInterface
import Foundation

/// The JSON bodies of the authority's subscriber API (`/api/v1/`, described by `openapi.yaml`), shared
/// by the service and the workstation's client so the two cannot drift apart.
///
/// Dates are ISO 8601.
public enum WireFormat {
    /// `GET /api/v1/about`: what the authority publishes for the person (its customer service, each language's
    /// contact whole).
    public struct About: Codable, Sendable, Equatable {
        public var customerService: CustomerService?

        public init(customerService: CustomerService?) { self.customerService = customerService }

        /// `customerService` is always present (`null` when none is named).
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(customerService, forKey: .customerService)
        }

        /// Checked as anything from outside: a contact that could not be shown is refused whole.
        public func decoded() throws(WireError) -> CustomerService? {
            guard let customerService else { return nil }
            do {
                return try customerService.validated()
            } catch {
                throw WireError.malformed("customer service")
            }
        }
    }

    /// `GET /api/v1/applications/{token}`.
    public struct Overview: Codable, Sendable, Equatable {
        public var token: String
        public var status: String
        public var language: String
        public var questions: [String]
        public var identityAttemptsRemaining: Int

        public init(_ overview: ApplicationOverview) {
            token = overview.token.formatted
            status = overview.status.rawValue
            language = overview.language.rawValue
            questions = overview.questions
            identityAttemptsRemaining = overview.identityAttemptsRemaining
        }

        public func decoded() throws(WireError) -> ApplicationOverview {
            guard let token = try? ApplicationToken(parsing: token), let status = ApplicationStatus(rawValue: status),
                let language = Language(rawValue: language), questions.count == ActivationPolicy.questionCount,
                (0...ActivationPolicy.identityAttempts).contains(identityAttemptsRemaining)
            else { throw WireError.malformed("application overview") }
            return ApplicationOverview(
                token: token, status: status, language: language, questions: questions,
                identityAttemptsRemaining: identityAttemptsRemaining)
        }
    }

    /// `POST /api/v1/applications/{token}/identity` request.
    public struct IdentityRequest: Codable, Sendable {
        public var answers: [String]
        public init(answers: [String]) { self.answers = answers }
    }

    /// The subscriber, released after a successful identity check.
    public struct SubscriberBody: Codable, Sendable, Equatable {
        public var name: String
        public var email: String
        public var language: String
    }

    /// `POST /api/v1/applications/{token}/identity` success.
    public struct IdentityResponse: Codable, Sendable, Equatable {
        public var subscriber: SubscriberBody
        /// The CMP secret (initial authentication key) that goes with the reference number.
        public var authorizationCode: String
        public var codesIssuedAt: Date
        public var codesExpireAt: Date
        public var renewalNeeded: Bool
        /// `codesExpired` or `renewalRequired` when renewal is needed.
        public var renewalReason: String?

        public init(_ verification: IdentityVerification) {
            subscriber = SubscriberBody(
                name: verification.subscriber.name, email: verification.subscriber.email,
                language: verification.subscriber.language.rawValue)
            authorizationCode = verification.authorization.revealed
            codesIssuedAt = verification.codesIssuedAt
            codesExpireAt = verification.codesExpireAt
            renewalNeeded = verification.renewalNeeded
            renewalReason = verification.renewalReason.map { WireError($0).code }
        }

        public func decoded() throws(WireError) -> IdentityVerification {
            guard let language = Language(rawValue: subscriber.language), !authorizationCode.isEmpty,
                authorizationCode.count <= 64
            else { throw WireError.malformed("identity verification") }
            let reason: ActivationError? =
                switch renewalReason {
                case nil: nil
                case "codesExpired": ActivationError(.codesExpired(expiredAt: codesExpireAt))
                default: ActivationError(.renewalRequired)
                }
            return IdentityVerification(
                subscriber: Subscriber(name: subscriber.name, email: subscriber.email, language: language),
                authorization: AuthorizationCode(authorizationCode), codesIssuedAt: codesIssuedAt,
                codesExpireAt: codesExpireAt, renewalNeeded: renewalNeeded, renewalReason: reason)
        }
    }

    /// `POST /api/v1/applications/{token}/renewal` request.
    public struct RenewalRequest: Codable, Sendable {
        public var authorizationCode: String
        public init(authorizationCode: String) { self.authorizationCode = authorizationCode }
    }

    /// `POST /api/v1/applications/{token}/renewal` success: the new authorization code (the new
    /// reference number went out by mail only).
    public struct RenewalResponse: Codable, Sendable, Equatable {
        public var authorizationCode: String
        public var issuedAt: Date
        public var expiresAt: Date
        public var maskedEmail: String

        public init(_ receipt: RenewalReceipt) {
            authorizationCode = receipt.authorization.revealed
            issuedAt = receipt.issuedAt
            expiresAt = receipt.expiresAt
            maskedEmail = receipt.maskedEmail
        }

        public func decoded() throws(WireError) -> RenewalReceipt {
            guard !authorizationCode.isEmpty, authorizationCode.count <= 64 else { throw WireError.malformed("renewal") }
            return RenewalReceipt(
                authorization: AuthorizationCode(authorizationCode), issuedAt: issuedAt, expiresAt: expiresAt,
                maskedEmail: maskedEmail, mailFile: nil)
        }
    }

    /// `POST /api/v1/recovery` request; the answer is 202 whatever the address.
    public struct RecoveryRequest: Codable, Sendable {
        public var email: String
        public init(email: String) { self.email = email }
    }

    /// `POST /api/v1/recovery` answer (the same for every address).
    public struct RecoveryResponse: Codable, Sendable, Equatable {
        public var message: String
        public init() { message = "If an activated application has this address, a recovery email was sent to it." }
    }

    /// `GET /health`: whether this instance can serve (200) or not (503), for a load balancer.
    public struct Health: Codable, Sendable, Equatable {
        /// `ok` or `unavailable`.
        public var status: String
        /// `reachable` or `unreachable`.
        public var database: String
        /// `loaded` or `expired`.
        public var ca: String
        /// Emails waiting in the outbox (nil when the database does not answer).
        public var outboxPending: Int?

        public init(status: String, database: String, ca: String, outboxPending: Int?) {
            self.status = status
            self.database = database
            self.ca = ca
            self.outboxPending = outboxPending
        }
    }

    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}

/// An error body of the API: a stable `code`, an English `message`, and the figures some codes carry.
///
/// The HTTP status goes with the code (`httpStatus`); `activationError` turns it back into the rule
/// refusal the wizard shows in the person's language.
public struct WireError: Error, Codable, Sendable, Equatable {
    public var code: String
    public var message: String
    public var attemptsRemaining: Int?
    public var expiredAt: Date?
    public var nextAllowedAt: Date?
    public var field: String?
    public var problem: String?

    public init(
        code: String, message: String, attemptsRemaining: Int? = nil, expiredAt: Date? = nil, nextAllowedAt: Date? = nil, field: String? = nil,
        problem: String? = nil
    ) {
        self.code = code
        self.message = message
        self.attemptsRemaining = attemptsRemaining
        self.expiredAt = expiredAt
        self.nextAllowedAt = nextAllowedAt
        self.field = field
        self.problem = problem
    }

    static func malformed(_ what: String) -> WireError {
        WireError(code: "malformedResponse", message: "the authority sent a malformed \(what)")
    }

    public static let rateLimited = WireError(code: "rateLimited", message: "Too many requests from this address; wait a minute and retry.")
    public static let notFound = WireError(code: "notFound", message: "No such endpoint.")
    public static let internalError = WireError(code: "internal", message: "The authority could not complete the request; retry later.")
    public static let unavailable = WireError(code: "unavailable", message: "The authority cannot reach its registry now; retry in a moment.")

    /// The wire form of a rule refusal.
    public init(_ error: ActivationError) {
        // The API's text is the person's English message (the catalog's one text per code); clients show their own.
        let english = error.message(in: .en)
        switch error.code {
        case .linkMalformed: self.init(code: "linkMalformed", message: english)
        case .unknownApplication: self.init(code: "unknownApplication", message: english)
        case .alreadyActivated: self.init(code: "alreadyActivated", message: english)
        case .identityLocked: self.init(code: "identityLocked", message: english)
        case .revoked: self.init(code: "revoked", message: english)
        case .wrongAnswers(let remaining): self.init(code: "wrongAnswers", message: english, attemptsRemaining: remaining)
        case .identityNotVerified: self.init(code: "identityNotVerified", message: english)
        case .codesExpired(let date): self.init(code: "codesExpired", message: english, expiredAt: date)
        case .renewalLimit(let date): self.init(code: "renewalLimit", message: english, nextAllowedAt: date)
        case .referenceMalformed: self.init(code: "referenceMalformed", message: english)
        case .referenceCheckDigit: self.init(code: "referenceCheckDigit", message: english)
        case .wrongReference(let remaining): self.init(code: "wrongReference", message: english, attemptsRemaining: remaining)
        case .renewalRequired: self.init(code: "renewalRequired", message: english)
        case .codesUsed: self.init(code: "codesUsed", message: english)
        case .passwordRejected: self.init(code: "passwordRejected", message: english)
        case .invalidInput(let field, let problem):
            self.init(code: "invalidInput", message: english, field: field.rawValue, problem: problem.rawValue)
        }
    }

    /// The rule refusal this body stands for, or nil for a code that is not one (rate limited,
    /// internal, bad request…).
    public var activationError: ActivationError? {
        switch code {
        case "linkMalformed": return ActivationError(.linkMalformed)
        case "unknownApplication": return ActivationError(.unknownApplication)
        case "alreadyActivated": return ActivationError(.alreadyActivated)
        case "identityLocked": return ActivationError(.identityLocked)
        case "revoked": return ActivationError(.revoked)
        case "wrongAnswers": return attemptsRemaining.map { ActivationError(.wrongAnswers(remaining: $0)) }
        case "identityNotVerified": return ActivationError(.identityNotVerified)
        case "codesExpired": return expiredAt.map { ActivationError(.codesExpired(expiredAt: $0)) }
        case "renewalLimit": return nextAllowedAt.map { ActivationError(.renewalLimit(nextAllowedAt: $0)) }
        case "referenceMalformed": return ActivationError(.referenceMalformed)
        case "referenceCheckDigit": return ActivationError(.referenceCheckDigit)
        case "wrongReference": return attemptsRemaining.map { ActivationError(.wrongReference(remaining: $0)) }
        case "renewalRequired": return ActivationError(.renewalRequired)
        case "codesUsed": return ActivationError(.codesUsed)
        case "invalidInput":
            guard let field = field.flatMap(InputField.init(rawValue:)), let problem = problem.flatMap(InputProblem.init(rawValue:)) else {
                return nil
            }
            return ActivationError(.invalidInput(field: field, problem: problem))
        default: return nil
        }
    }

    /// The rule refusal a CMP `error` message stands for: the API's error body the authority puts in
    /// errorDetails, believed only when the message's protection verified.
    public static func refusal(cmpErrorDetails details: [String], authenticated: Bool) -> ActivationError? {
        guard authenticated, let json = details.first,
            let wire = try? WireFormat.decoder.decode(WireError.self, from: Data(json.utf8))
        else { return nil }
        return wire.activationError
    }

    /// The HTTP status that means this code: a rule refusal's own (`ActivationError.httpStatus`), else the API's.
    public var httpStatus: Int {
        if let refusal = activationError { return refusal.httpStatus }
        switch code {
        case "notFound": return 404
        case "rateLimited": return 429
        case "internal": return 500
        case "unavailable": return 503
        case "payloadTooLarge": return 413
        default: return 400
        }
    }
}

extension ActivationError {
    /// The HTTP status of the service's answer that carries this refusal.
    public var httpStatus: Int {
        switch code {
        case .unknownApplication: 404
        case .wrongAnswers, .identityNotVerified: 403
        case .identityLocked: 423
        case .alreadyActivated, .codesUsed, .codesExpired, .renewalRequired, .wrongReference: 409
        case .revoked: 410
        case .renewalLimit: 429
        case .linkMalformed, .referenceMalformed, .referenceCheckDigit, .passwordRejected, .invalidInput: 400
        }
    }
}
