import Foundation
import ParapheTestSupport
import Testing

@testable import Activation

/// Whole-state assertions on a fixed clock.
@Suite struct ApplicationStateTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let random = SeededRandomSource(seed: 11)

    func fresh() -> (ApplicationState, ReferenceNumber) {
        let reference = ReferenceNumber.generate(using: random)
        return (ApplicationState.approved(reference: reference, at: t0), reference)
    }

    @Test func identityTwoOfThreeSucceedsWithoutSpendingAnAttempt() throws {
        var (state, reference) = fresh()
        #expect(try state.submitAnswers(matching: 2, at: t0) == .verified)
        #expect(try state.submitAnswers(matching: 3, at: t0) == .verified)
        #expect(state == ApplicationState(status: .approved, identityFailures: 0, codes: CodesState(reference: reference, issuedAt: t0)))
    }

    @Test func fifthFailureLocksAndSixthIsRefusedEvenWhenRight() throws {
        var (state, reference) = fresh()
        for expected in [4, 3, 2, 1] {
            #expect(try state.submitAnswers(matching: 1, at: t0) == .failed(remaining: expected))
            #expect(
                state == ApplicationState(status: .approved, identityFailures: 5 - expected, codes: CodesState(reference: reference, issuedAt: t0)))
        }
        #expect(try state.submitAnswers(matching: 0, at: t0) == .locked)
        let locked = ApplicationState(status: .identityLocked, identityFailures: 5, codes: CodesState(reference: reference, issuedAt: t0))
        #expect(state == locked)
        #expect(throws: ActivationError(.identityLocked)) { try state.submitAnswers(matching: 3, at: t0) }
        #expect(state == locked)
        #expect(state.identityAttemptsRemaining == 0)
    }

    @Test func codesExpireAtFifteenDaysToTheSecond() {
        let (state, _) = fresh()
        let fifteenDays: TimeInterval = 15 * 24 * 3600
        #expect(!state.codes.isExpired(at: t0 + fifteenDays - 1))
        #expect(state.codes.isExpired(at: t0 + fifteenDays))
        #expect(state.codes.isExpired(at: t0 + fifteenDays + 1))
        #expect(state.codes.expiresAt == t0 + fifteenDays)
    }

    @Test func redeemingExpiredCodesIsRefusedAndChangesNothing() {
        var (state, reference) = fresh()
        let before = state
        let expiry = t0 + ActivationPolicy.codeValidity
        #expect(throws: ActivationError(.codesExpired(expiredAt: expiry))) {
            try state.redeem(reference: reference, authorizationMatches: true, keyDigest: [1], at: expiry)
        }
        #expect(state == before)
    }

    @Test func redeemJustBeforeExpiryActivates() throws {
        var (state, reference) = fresh()
        let at = t0 + ActivationPolicy.codeValidity - 1
        #expect(try state.redeem(reference: reference, authorizationMatches: true, keyDigest: [1, 2], at: at) == .accepted)
        var expectedCodes = CodesState(reference: reference, issuedAt: t0)
        expectedCodes.used = true
        #expect(state == ApplicationState(status: .activated, identityFailures: 0, codes: expectedCodes, activatedKeyDigest: [1, 2]))
        // Same key again: replay (resume); another key: the codes are used.
        #expect(try state.redeem(reference: reference, authorizationMatches: true, keyDigest: [1, 2], at: at) == .replay)
        #expect(throws: ActivationError(.codesUsed)) {
            try state.redeem(reference: reference, authorizationMatches: true, keyDigest: [9], at: at)
        }
    }

    @Test func renewalReplacesCodesAndIsLimitedToThreeIn24Hours() throws {
        var (state, _) = fresh()
        let random = SeededRandomSource(seed: 99)
        var times: [Date] = []
        for hour in [0.0, 1, 2] {
            let at = t0 + 16 * 24 * 3600 + hour * 3600
            let newReference = ReferenceNumber.generate(using: random)
            try state.renew(newReference: newReference, at: at)
            times.append(at)
            #expect(
                state
                    == ApplicationState(
                        status: .approved, identityFailures: 0, codes: CodesState(reference: newReference, issuedAt: at), renewals: times))
        }
        let fourth = t0 + 16 * 24 * 3600 + 3 * 3600
        let before = state
        #expect(throws: ActivationError(.renewalLimit(nextAllowedAt: times[0] + 24 * 3600))) {
            try state.renew(newReference: ReferenceNumber.generate(using: random), at: fourth)
        }
        #expect(state == before)
        // One second before the window frees up: still refused; at 24 h after the first: allowed.
        #expect(throws: ActivationError.self) { try state.renew(newReference: ReferenceNumber.generate(using: random), at: times[0] + 24 * 3600 - 1) }
        let later = times[0] + 24 * 3600
        let reference = ReferenceNumber.generate(using: random)
        try state.renew(newReference: reference, at: later)
        #expect(
            state
                == ApplicationState(
                    status: .approved, identityFailures: 0, codes: CodesState(reference: reference, issuedAt: later),
                    renewals: [times[1], times[2], later]))
    }

    @Test func renewalKillsTheOldPairAtOnce() throws {
        var (state, old) = fresh()
        let new = ReferenceNumber.generate(using: random)
        try state.renew(newReference: new, at: t0 + 60)
        #expect(throws: ActivationError(.wrongReference(remaining: 4))) {
            try state.redeem(reference: old, authorizationMatches: true, keyDigest: [1], at: t0 + 120)
        }
        #expect(try state.redeem(reference: new, authorizationMatches: true, keyDigest: [1], at: t0 + 120) == .accepted)
    }

    @Test func fiveWrongReferencesInARowRequireRenewal() throws {
        var (state, reference) = fresh()
        let wrong = ReferenceNumber.generate(using: random)
        for remaining in [4, 3, 2, 1] {
            #expect(throws: ActivationError(.wrongReference(remaining: remaining))) {
                try state.redeem(reference: wrong, authorizationMatches: true, keyDigest: [1], at: t0 + 10)
            }
            #expect(state == ApplicationState(codes: CodesState(reference: reference, issuedAt: t0, wrongReferences: 5 - remaining)))
        }
        #expect(throws: ActivationError(.renewalRequired)) {
            try state.redeem(reference: wrong, authorizationMatches: true, keyDigest: [1], at: t0 + 10)
        }
        // Even the right number is refused until a renewal.
        #expect(throws: ActivationError(.renewalRequired)) {
            try state.redeem(reference: reference, authorizationMatches: true, keyDigest: [1], at: t0 + 10)
        }
        #expect(state == ApplicationState(codes: CodesState(reference: reference, issuedAt: t0, wrongReferences: 5)))
        let renewed = ReferenceNumber.generate(using: random)
        try state.renew(newReference: renewed, at: t0 + 20)
        #expect(state == ApplicationState(codes: CodesState(reference: renewed, issuedAt: t0 + 20), renewals: [t0 + 20]))
        #expect(try state.redeem(reference: renewed, authorizationMatches: true, keyDigest: [1], at: t0 + 30) == .accepted)
    }

    @Test func aWrongAuthorizationCodeProvesNothingAndChangesNothing() throws {
        var (state, reference) = fresh()
        let before = state
        for _ in 0..<10 {
            #expect(throws: ActivationError(.identityNotVerified)) {
                try state.redeem(reference: reference, authorizationMatches: false, keyDigest: [1], at: t0 + 1)
            }
        }
        #expect(state == before)
        #expect(try state.redeem(reference: reference, authorizationMatches: true, keyDigest: [1], at: t0 + 2) == .accepted)
    }

    @Test func lockedRevokedAndActivatedApplicationsCannotGoOn() {
        let (base, reference) = fresh()
        for (status, error) in [
            (ApplicationStatus.activated, ActivationError.Code.alreadyActivated),
            (.identityLocked, .identityLocked), (.revoked, .revoked),
        ] {
            var state = base
            state.status = status
            #expect(throws: ActivationError(error)) { try state.ensureActivatable() }
            #expect(throws: ActivationError(error)) { try state.submitAnswers(matching: 3, at: t0) }
            #expect(throws: ActivationError(error)) { try state.renew(newReference: reference, at: t0) }
        }
    }

    /// Issue 22, hole 3: a recovery request changes no attempt count; only a success resets them.
    @Test func aRecoveryNeverRestoresIdentityAttempts() throws {
        var (state, reference) = fresh()
        #expect(try state.submitAnswers(matching: 3, at: t0) == .verified)
        #expect(try state.redeem(reference: reference, authorizationMatches: true, keyDigest: [1], at: t0) == .accepted)
        let activated = state
        // Without a pending recovery, an activated application takes no answers.
        #expect(throws: ActivationError(.alreadyActivated)) { try state.submitAnswers(matching: 3, at: t0 + 1) }
        #expect(state == activated)
        // Recover, 4 wrong; recover again, the 5th wrong locks: asking again gives no new attempts.
        state.recoveryRequestedAt = t0 + 10
        #expect(state.statusForActivation(at: t0 + 10) == .approved && state.status == .activated)
        for expected in [4, 3, 2, 1] {
            #expect(try state.submitAnswers(matching: 0, at: t0 + 20) == .failed(remaining: expected))
        }
        state.recoveryRequestedAt = t0 + 30
        #expect(try state.submitAnswers(matching: 1, at: t0 + 40) == .locked)
        #expect(state.status == .identityLocked && state.identityFailures == 5)
        #expect(throws: ActivationError(.identityLocked)) { try state.submitAnswers(matching: 3, at: t0 + 50) }
    }

    @Test func aPendingRecoveryBeginsOnlyWithItsIdentityCheckAndLapsesAfterFifteenDays() throws {
        var (state, reference) = fresh()
        _ = try state.submitAnswers(matching: 1, at: t0)
        _ = try state.submitAnswers(matching: 3, at: t0)
        #expect(state.identityFailures == 0, "a success resets the failures")
        _ = try state.redeem(reference: reference, authorizationMatches: true, keyDigest: [1], at: t0)
        state.recoveryRequestedAt = t0 + 100
        // Lapsed: back to an activated application that takes no answers.
        let lapse = t0 + 100 + ActivationPolicy.codeValidity
        #expect(state.recoveryPending(at: lapse - 1) && !state.recoveryPending(at: lapse))
        // Asked "after" now (another instance's clock ahead, or this one stepped back): pending all the same.
        #expect(state.recoveryPending(at: t0 + 40))
        #expect(throws: ActivationError(.alreadyActivated)) { try state.submitAnswers(matching: 3, at: lapse) }
        _ = try state.submitAnswers(matching: 1, at: t0 + 200)
        #expect(state.status == .activated && state.identityFailures == 1 && state.codes.reference == reference)
        #expect(try state.submitAnswers(matching: 2, at: t0 + 300) == .verifiedForRecovery)
        #expect(state.identityFailures == 0)
        let renewed = ReferenceNumber.generate(using: random)
        state.beginRecovery(reference: renewed, at: t0 + 300)
        #expect(state == ApplicationState(status: .approved, identityFailures: 0, codes: CodesState(reference: renewed, issuedAt: t0 + 100)))
        #expect(try state.submitAnswers(matching: 3, at: t0 + 301) == .verified)
    }
}
