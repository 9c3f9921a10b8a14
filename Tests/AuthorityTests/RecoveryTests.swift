import Activation
import AuthorityInterface
import Foundation
import Testing

@testable import Authority

/// "Recover my digital signature" at the authority (issue 22, holes 3 and 10): a request only sends mail; the
/// application changes only when the recovery link's identity check passes; attempts are never given back.
@Suite("Recovery")
struct RecoveryTests {
    /// An activated application: its receipt and its certificate's serial.
    static func activated(_ authority: EmbeddedAuthority) async throws -> (ApprovalReceipt, String) {
        let (receipt, code) = try await CertificateTests.readyToIssue(authority)
        _ = try await authority.issueCertificate(token: receipt.token, reference: receipt.reference, authorization: code, csrDER: try TestKey().csr())
        return (receipt, try #require(try await authority.record(for: receipt.token).certificateSerial))
    }

    /// The reference number in the one recovery mail.
    static func recoveryReference(_ bed: TestBed) throws -> ReferenceNumber {
        let mails = try bed.mails().map(ParsedMail.init).filter { $0.headers["Subject"] == "Digital Signature : Recovery" }
        let mail = try #require(mails.count == 1 ? mails.first : nil)
        let line = try #require(mail.bodyLines.first { $0.hasPrefix("Reference number: ") })
        return try ReferenceNumber(parsing: String(line.dropFirst("Reference number: ".count)))
    }

    @Test("a recovery request sends mail and changes nothing else: status, certificate, codes and attempts stay")
    func aRequestOnlySendsMail() async throws {
        let bed = TestBed(seed: 2231)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, serial) = try await Self.activated(authority)
        let before = try await authority.record(for: receipt.token)
        try await authority.requestRecovery(email: "JEANNE@example.com")
        #expect(try bed.mails().count == 2)
        let after = try await authority.record(for: receipt.token)
        #expect(after.status == .activated)
        #expect(after.certificateSerial == serial)
        #expect(after.reference == before.reference)
        #expect(after.identityAttemptsRemaining == before.identityAttemptsRemaining)
        #expect(after.codesIssuedAt == before.codesIssuedAt)
        let der = try #require(try await authority.application(receipt.token)?.certificateDER)
        #expect(try await authority.certificateHolder(of: der)?.revoked == false)
        // The link leads through the steps again (step 1 shows it open), and only the identity check begins the recovery.
        #expect(try await authority.overview(of: receipt.token).status == .approved)
        let reference = try Self.recoveryReference(bed)
        #expect(reference != receipt.reference)
        _ = try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers)
        let begun = try await authority.record(for: receipt.token)
        #expect(begun.status == .approved && begun.reference == reference.formatted)
        #expect(try await authority.application(receipt.token)?.recoveringSerial == serial)
        #expect(try await authority.auditLog().map(\.event).suffix(3) == ["recoveryRequested", "identityVerified", "recoveryStarted"])
    }

    @Test("recover, 4 wrong answers, recover, the 5th wrong locks: a recovery never gives attempts back")
    func recoveriesNeverRestoreAttempts() async throws {
        let bed = TestBed(seed: 2232)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, serial) = try await Self.activated(authority)
        try await authority.requestRecovery(email: Sample.subscriber.email)
        for remaining in [4, 3, 2, 1] {
            #expect(
                await activationCode { try await authority.verifyIdentity(token: receipt.token, answers: Sample.wrongAnswers) }
                    == .wrongAnswers(remaining: remaining))
        }
        bed.time.advance(by: 60)
        try await authority.requestRecovery(email: Sample.subscriber.email)
        #expect(try await authority.overview(of: receipt.token).identityAttemptsRemaining == 1)
        #expect(await activationCode { try await authority.verifyIdentity(token: receipt.token, answers: Sample.wrongAnswers) } == .identityLocked)
        #expect(await activationCode { try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers) } == .identityLocked)
        // Locked: no further recovery email, and the certificate is still the one it was (not revoked, not replaced).
        let mails = try bed.mails().count
        try await authority.requestRecovery(email: Sample.subscriber.email)
        #expect(try bed.mails().count == mails)
        let record = try await authority.record(for: receipt.token)
        #expect(record.status == .identityLocked && record.certificateSerial == serial)
    }

    @Test("a pending recovery lapses after 15 days; a success resets the failures")
    func aPendingRecoveryLapses() async throws {
        let bed = TestBed(seed: 2233)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, _) = try await Self.activated(authority)
        try await authority.requestRecovery(email: Sample.subscriber.email)
        #expect(
            await activationCode { try await authority.verifyIdentity(token: receipt.token, answers: Sample.wrongAnswers) }
                == .wrongAnswers(remaining: 4))
        bed.time.advance(by: ActivationPolicy.codeValidity)
        #expect(try await authority.overview(of: receipt.token).status == .activated)
        #expect(await activationCode { try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers) } == .alreadyActivated)
        try await authority.requestRecovery(email: Sample.subscriber.email)
        _ = try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers)
        #expect(try await authority.record(for: receipt.token).identityAttemptsRemaining == 5)
    }

    @Test("a recovery request is one insert whatever the address; the mail goes out when it is handled (hole 10)")
    func theRequestPathIsTheSameForEveryAddress() async throws {
        let bed = TestBed(seed: 2234)
        defer { bed.remove() }
        let authority = try await bed.authority()
        _ = try await Self.activated(authority)
        let registry = authority.registry
        let auditBefore = try await authority.auditLog().count
        try await authority.enqueueRecovery(email: "nobody@example.com")
        try await authority.enqueueRecovery(email: Sample.subscriber.email)
        // Nothing but the two requests so far: no audit row, no mail, no change.
        #expect(try await authority.auditLog().count == auditBefore)
        let pending = try await authority.pendingMailCount()
        #expect(try bed.mails().count == 1 && pending == 0)
        #expect(await authority.processRecoveryRequests() == 2)
        #expect(try bed.mails().count == 2)
        let later = bed.time.now() + 3600
        #expect(try await registry.claimRecoveryRequests(at: later, lease: 60, limit: 10).isEmpty, "each request is answered once")
    }

    @Test("a recovery request whose handler died is answered by the next once its lease runs out, and only once")
    func aRequestOutlivesItsHandler() async throws {
        let bed = TestBed(seed: 2235)
        defer { bed.remove() }
        let authority = try await bed.authority()
        _ = try await Self.activated(authority)
        let registry = authority.registry
        try await authority.enqueueRecovery(email: Sample.subscriber.email)
        // An instance takes it and dies before answering (a kill, or its database restarted under it).
        let taken = try await registry.claimRecoveryRequests(at: bed.time.now(), lease: 60, limit: 10)
        #expect(taken.map(\.email) == [Sample.subscriber.email])
        #expect(await authority.processRecoveryRequests() == 0, "another instance leaves it to its holder while the lease runs")
        #expect(try bed.mails().count == 1)
        bed.time.advance(by: 61)
        #expect(await authority.processRecoveryRequests() == 1)
        #expect(try bed.mails().count == 2, "the recovery email went out")
        bed.time.advance(by: 3600)
        #expect(await authority.processRecoveryRequests() == 0, "answered in the transaction that sent its email: gone")
        #expect(try bed.mails().count == 2)
    }
}
