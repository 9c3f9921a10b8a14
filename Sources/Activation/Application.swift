import Foundation

/// The numbers of the activation rules.
public enum ActivationPolicy {
    /// Codes are valid this long after issue (approval or renewal): 15 days.
    public static let codeValidity: TimeInterval = 15 * 24 * 3600
    /// Failed identity submissions allowed before the application locks for good.
    public static let identityAttempts = 5
    /// Answers that must match, out of three.
    public static let answersRequired = 2
    /// Number of security questions.
    public static let questionCount = 3
    /// Renewals allowed in any 24 hours.
    public static let renewalsPerWindow = 3
    /// The renewal window.
    public static let renewalWindow: TimeInterval = 24 * 3600
    /// Wrong reference numbers in a row before a renewal is required.
    public static let wrongReferenceLimit = 5
}

/// Where an application stands.
public enum ApplicationStatus: String, Sendable, Codable, CaseIterable {
    case approved, activated, identityLocked, revoked

    /// Step 1: may an application in this status be activated? Throws what to tell the person otherwise.
    public func ensureActivatable() throws(ActivationError) {
        switch self {
        case .approved: return
        case .activated: throw ActivationError(.alreadyActivated)
        case .identityLocked: throw ActivationError(.identityLocked)
        case .revoked: throw ActivationError(.revoked)
        }
    }
}

/// One pair of activation codes as the rules see it (the authorization code itself stays with the authority).
public struct CodesState: Equatable, Sendable, Codable {
    public var reference: ReferenceNumber
    public var issuedAt: Date
    /// Wrong reference numbers submitted in a row against this pair.
    public var wrongReferences: Int
    /// Set once the pair was redeemed.
    public var used: Bool

    public init(reference: ReferenceNumber, issuedAt: Date, wrongReferences: Int = 0, used: Bool = false) {
        self.reference = reference
        self.issuedAt = issuedAt
        self.wrongReferences = wrongReferences
        self.used = used
    }

    /// The first instant at which the pair is no longer valid: issue + 15 days.
    public var expiresAt: Date { issuedAt + ActivationPolicy.codeValidity }

    /// True at and after `expiresAt`.
    public func isExpired(at now: Date) -> Bool { now >= expiresAt }

    /// True after 5 wrong reference numbers in a row.
    public var isBlocked: Bool { wrongReferences >= ActivationPolicy.wrongReferenceLimit }
}

/// The outcome of one identity submission.
public enum IdentityOutcome: Equatable, Sendable {
    case verified
    /// Verified while a recovery was pending: the recovery begins now (new codes, the current certificate's
    /// holder loses its powers), and only now.
    case verifiedForRecovery
    case failed(remaining: Int)
    case locked
}

/// The outcome of presenting the codes for issuance.
public enum RedemptionOutcome: Equatable, Sendable {
    /// First redemption: issue the certificate.
    case accepted
    /// The same key presented again after a successful redemption (a resumed activation): return the same certificate.
    case replay
}

/// The rule-bearing state of an application.
///
/// The authority loads it, applies one rule, and stores the result in the same
/// transaction.
public struct ApplicationState: Equatable, Sendable, Codable {
    public var status: ApplicationStatus
    /// Failed identity submissions since the last successful one (a success resets it; nothing else does).
    public var identityFailures: Int
    public var codes: CodesState
    /// When each renewal happened (for the 3-in-24-hours limit).
    public var renewals: [Date]
    /// The SHA-256 of the public key the certificate was issued for, once activated.
    public var activatedKeyDigest: [UInt8]?
    /// When the pending recovery was asked for (its email sent): it lets the application's link through the
    /// identity check again for `ActivationPolicy.codeValidity`; nothing else changes until that check passes.
    public var recoveryRequestedAt: Date?

    public init(
        status: ApplicationStatus = .approved, identityFailures: Int = 0, codes: CodesState, renewals: [Date] = [],
        activatedKeyDigest: [UInt8]? = nil, recoveryRequestedAt: Date? = nil
    ) {
        self.status = status
        self.identityFailures = identityFailures
        self.codes = codes
        self.renewals = renewals
        self.activatedKeyDigest = activatedKeyDigest
        self.recoveryRequestedAt = recoveryRequestedAt
    }

    /// A freshly approved application.
    public static func approved(reference: ReferenceNumber, at now: Date) -> ApplicationState {
        ApplicationState(codes: CodesState(reference: reference, issuedAt: now))
    }

    /// Failed identity attempts left.
    public var identityAttemptsRemaining: Int { max(0, ActivationPolicy.identityAttempts - identityFailures) }

    /// Step 1: may this application be activated at all? Throws what to tell the person otherwise.
    public func ensureActivatable() throws(ActivationError) {
        try status.ensureActivatable()
    }

    /// Whether a recovery asked for less than `ActivationPolicy.codeValidity` ago waits for its identity check
    /// (an activated application, or one whose recovery already began and was asked for again).
    ///
    /// A request stamped a little after `now` — by an instance whose clock runs ahead of this one's, or before this
    /// clock was stepped back — is pending too: the person has its email in hand, and only the lapse is a rule.
    public func recoveryPending(at now: Date) -> Bool {
        guard let asked = recoveryRequestedAt, status == .activated || status == .approved else { return false }
        return now < asked + ActivationPolicy.codeValidity
    }

    /// The status step 1 goes by: an activated application with a pending recovery is open to the steps again.
    public func statusForActivation(at now: Date) -> ApplicationStatus {
        status == .activated && recoveryPending(at: now) ? .approved : status
    }

    /// Step 2: records one submission of the three answers, of which `matching` matched.
    ///
    /// A success resets the failures; with a pending recovery it begins the recovery (`beginRecovery`, by the caller,
    /// in the same change).
    public mutating func submitAnswers(matching: Int, at now: Date) throws(ActivationError) -> IdentityOutcome {
        try statusForActivation(at: now).ensureActivatable()
        if matching >= ActivationPolicy.answersRequired {
            identityFailures = 0
            return recoveryPending(at: now) ? .verifiedForRecovery : .verified
        }
        identityFailures += 1
        if identityFailures >= ActivationPolicy.identityAttempts {
            status = .identityLocked
            return .locked
        }
        return .failed(remaining: identityAttemptsRemaining)
    }

    /// Renewals in the 24 hours before `now`.
    public func renewalsInWindow(at now: Date) -> [Date] {
        renewals.filter { now.timeIntervalSince($0) < ActivationPolicy.renewalWindow && $0 <= now }
    }

    /// When the next renewal becomes possible, or nil if it is possible now.
    public func nextRenewalAllowed(at now: Date) -> Date? {
        let recent = renewalsInWindow(at: now).sorted()
        guard recent.count >= ActivationPolicy.renewalsPerWindow, let oldest = recent.first else { return nil }
        return oldest + ActivationPolicy.renewalWindow
    }

    /// Step 4: replaces the codes with a new pair issued `now`; the old pair is dead at once.
    public mutating func renew(newReference: ReferenceNumber, at now: Date) throws(ActivationError) {
        try ensureActivatable()
        if let next = nextRenewalAllowed(at: now) { throw ActivationError(.renewalLimit(nextAllowedAt: next)) }
        codes = CodesState(reference: newReference, issuedAt: now)
        renewals = renewalsInWindow(at: now) + [now]
    }

    /// A recovery's identity check passed: the application is open to activation again with the recovery's
    /// codes (the previous pair dies; the new one is valid 15 days from the request, as its email says), and the
    /// recovery is no longer pending.
    public mutating func beginRecovery(reference: ReferenceNumber, at now: Date) {
        status = .approved
        codes = CodesState(reference: reference, issuedAt: min(recoveryRequestedAt ?? now, now))
        recoveryRequestedAt = nil
        activatedKeyDigest = nil
    }

    /// Step 5: presents a reference number (and whether the authorization code matched) for the key
    /// whose SHA-256 is `keyDigest`.
    ///
    /// A wrong reference number presented with the right authorization code counts toward the 5-in-a-row
    /// limit; a wrong authorization code proves nothing and changes nothing (whoever sent it must not be
    /// able to use up the holder's codes).
    public mutating func redeem(reference: ReferenceNumber, authorizationMatches: Bool, keyDigest: [UInt8], at now: Date) throws(ActivationError)
        -> RedemptionOutcome
    {
        guard authorizationMatches else { throw ActivationError(.identityNotVerified) }
        if status == .activated, codes.used, reference == codes.reference, activatedKeyDigest == keyDigest {
            return .replay
        }
        if codes.used { throw ActivationError(.codesUsed) }
        try ensureActivatable()
        if codes.isBlocked { throw ActivationError(.renewalRequired) }
        if codes.isExpired(at: now) { throw ActivationError(.codesExpired(expiredAt: codes.expiresAt)) }
        guard reference == codes.reference else {
            codes.wrongReferences += 1
            if codes.isBlocked { throw ActivationError(.renewalRequired) }
            throw ActivationError(.wrongReference(remaining: ActivationPolicy.wrongReferenceLimit - codes.wrongReferences))
        }
        codes.used = true
        codes.wrongReferences = 0
        status = .activated
        activatedKeyDigest = keyDigest
        return .accepted
    }
}

/// Named moments of an activation, in order.
///
/// An observer (`ActivationService`'s `checkpoint`) hears each as it is reached; the end-to-end
/// tests kill the process there to prove a rerun recovers.
public enum ActivationCheckpoint: String, CaseIterable, Sendable {
    case keyParked, certificateIssued, certificateFileWritten, profileWritten
}
