import Activation
import AuthorityInterface
import CMP
import Foundation
import ParapheTestSupport
import Synchronization
import Testing

@testable import Authority

@Suite("CMP exchange costs")
struct CMPExchangeTests {
    /// Every message of one exchange, in order.
    final class Wire: Sendable {
        let messages = Mutex<[PKIMessage]>([])
    }

    @Test("an enrollment derives one PBM key a side: the client's certConf reuses its request's salt, the answers reuse the request's")
    func oneDerivationPerSide() async throws {
        let bed = TestBed(seed: 77)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, code) = try await CertificateTests.readyToIssue(authority)
        let secret = Array(code.revealed.utf8)
        let wire = Wire()
        let result = try await CMPClientTransaction.enroll(
            body: .p10cr(try TestKey().csr()), reference: Array(receipt.reference.digits.utf8), secret: secret,
            sender: try ParapheCMP.sender(token: receipt.token.value), implicitConfirm: false,
            random: { count in (0..<count).map { _ in UInt8.random(in: 0...255) } }, now: Date()
        ) { request in
            let answer = try await authority.cmp(request)
            let pair = [try PKIMessage(derEncoded: request), try PKIMessage(derEncoded: answer)]
            wire.messages.withLock { $0 += pair }
            return answer
        }
        #expect(try await authority.application(receipt.token)?.certificateDER == result.certificateDER)

        let messages = wire.messages.withLock { $0 }
        #expect(messages.map(\.body.name) == ["p10cr", "cp", "certConf", "pkiconf"])
        let parameters = try #require(messages.first?.passwordBasedMAC)
        #expect(parameters.iterationCount == CMPClientTransaction.iterations)
        for message in messages {
            #expect(message.passwordBasedMAC == parameters)
            // Each still verifies on its own with the code, and not with another.
            try message.verifyProtection(secret: secret, maxIterations: 100_000)
            #expect(throws: CMPError.self) { try message.verifyProtection(secret: Array("WRONG-CODE".utf8), maxIterations: 100_000) }
        }
        // Fresh nonces all the same: the MACs cover different protected parts.
        #expect(Set(messages.compactMap(\.header.senderNonce)).count == 4)
        #expect(Set(messages.compactMap(\.protection)).count == 4)
    }

    @Test("a wrong code is answered unprotected and counts against no application, even after the right code's certConf")
    func wrongCodeAfterKeptKey() async throws {
        let bed = TestBed(seed: 78)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, code) = try await CertificateTests.readyToIssue(authority)
        // A certConf with the right code and these parameters verifies (no certificate yet: refused, protected).
        let parameters = PasswordBasedMAC.make(salt: Array(repeating: 7, count: 16), iterations: 1_000)
        func message(_ body: PKIBody, secret: [UInt8]) throws -> [UInt8] {
            var message = PKIMessage(
                header: PKIHeader(
                    sender: try ParapheCMP.sender(token: receipt.token.value), senderKID: Array(receipt.reference.digits.utf8),
                    transactionID: Array(repeating: 1, count: 16), senderNonce: (0..<16).map { _ in UInt8.random(in: 0...255) }),
                body: body)
            try message.protect(with: PasswordBasedMACKey(secret: secret, parameters: parameters))
            return try message.serialized()
        }
        let confirmation = try PKIMessage(derEncoded: try await authority.cmp(try message(.certConf([]), secret: Array(code.revealed.utf8))))
        #expect(confirmation.protectionKind == .passwordBasedMAC)
        // Same parameters, wrong code: refused unprotected.
        let refused = try PKIMessage(
            derEncoded: try await authority.cmp(try message(.p10cr(try TestKey().csr()), secret: Array("ABCD-EFGH-JKLM-NPQR".utf8))))
        guard case .error(let content) = refused.body else {
            Issue.record("expected an error, got \(refused.body.name)")
            return
        }
        #expect(content.pkiStatusInfo.failInfo?.contains(.badMessageCheck) == true)
        #expect(refused.protectionKind == .none)
        #expect(try await authority.record(for: receipt.token).wrongReferencesInARow == 0)
    }

    /// An enrollment whose transport lets `beforeConfirmation` see (and answer before) the certConf's bytes.
    static func enroll(
        _ authority: EmbeddedAuthority, receipt: ApprovalReceipt, code: AuthorizationCode, implicitConfirm: Bool = false,
        confirmTo confirming: EmbeddedAuthority? = nil, beforeConfirmation: @escaping @Sendable (PKIMessage) async throws -> Void = { _ in }
    ) async throws -> CMPClientTransaction.EnrollmentResult {
        try await CMPClientTransaction.enroll(
            body: .p10cr(try TestKey().csr()), reference: Array(receipt.reference.digits.utf8), secret: Array(code.revealed.utf8),
            sender: try ParapheCMP.sender(token: receipt.token.value), implicitConfirm: implicitConfirm,
            random: { count in (0..<count).map { _ in UInt8.random(in: 0...255) } }, now: Date()
        ) { request in
            let message = try PKIMessage(derEncoded: request)
            guard case .certConf = message.body else { return try await authority.cmp(request) }
            try await beforeConfirmation(message)
            return try await (confirming ?? authority).cmp(request)
        }
    }

    static func confirmations(_ authority: EmbeddedAuthority) async throws -> [String] {
        try await authority.auditLog().filter { $0.event == AuditEvent.certificateConfirmed.rawValue }.map(\.detail)
    }

    @Test("the certConf of an enrollment this instance answered is confirmed from what it kept; a forged one is refused and leaves it")
    func keptTransaction() async throws {
        let bed = TestBed(seed: 79)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, code) = try await CertificateTests.readyToIssue(authority)
        let result = try await Self.enroll(authority, receipt: receipt, code: code) { confirmation in
            #expect(authority.awaitingConfirmations == 1)
            // The same certConf MACed with another code under the same parameters: not the kept transaction's.
            var forged = confirmation
            try forged.protect(
                with: PasswordBasedMACKey(secret: Array("ABCD-EFGH-JKLM-NPQR".utf8), parameters: try #require(confirmation.passwordBasedMAC)))
            let answer = try PKIMessage(derEncoded: try await authority.cmp(try forged.serialized()))
            guard case .error(let content) = answer.body else {
                Issue.record("a forged certConf was answered \(answer.body.name)")
                return
            }
            #expect(content.pkiStatusInfo.failInfo?.contains(.badMessageCheck) == true)
            #expect(answer.protectionKind == .none)
            #expect(try await Self.confirmations(authority).isEmpty)
            #expect(authority.awaitingConfirmations == 1)
        }
        // The real one took the kept transaction: it is gone, and the confirmation is in the audit trail.
        #expect(authority.awaitingConfirmations == 0)
        let serial = try #require(try await authority.application(receipt.token)?.certificateSerial)
        #expect(try await Self.confirmations(authority) == ["serial \(serial) confirmed by the requester"])
        #expect(try await authority.application(receipt.token)?.certificateDER == result.certificateDER)
    }

    @Test("a certConf that does not name the application finds the kept transaction by its reference number")
    func keptTransactionWithoutToken() async throws {
        let bed = TestBed(seed: 81)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, code) = try await CertificateTests.readyToIssue(authority)
        _ = try await Self.enroll(authority, receipt: receipt, code: code) { confirmation in
            var anonymous = confirmation
            anonymous.header.sender = PKIHeader.nullDN
            try anonymous.protect(
                with: PasswordBasedMACKey(secret: Array(code.revealed.utf8), parameters: try #require(confirmation.passwordBasedMAC)))
            #expect(ParapheCMP.token(in: anonymous.header) == nil)
            let answer = try PKIMessage(derEncoded: try await authority.cmp(try anonymous.serialized()))
            #expect(answer.body.name == "pkiconf")
            #expect(authority.awaitingConfirmations == 0)
        }
        // The client's own certConf then took the ordinary way: confirmed twice.
        #expect(try await Self.confirmations(authority).count == 2)
    }

    @Test("a certConf reaching another instance is confirmed from the registry; with implicitConfirm nothing is kept")
    func otherInstanceAndImplicitConfirm() async throws {
        let bed = TestBed(seed: 80)
        defer { bed.remove() }
        let issuing = try await bed.authority()
        let other = try await bed.authority()
        let (receipt, code) = try await CertificateTests.readyToIssue(issuing)
        _ = try await Self.enroll(issuing, receipt: receipt, code: code, confirmTo: other)
        #expect(other.awaitingConfirmations == 0)
        #expect(try await Self.confirmations(issuing).count == 1)
        // The issuing instance still keeps that transaction: it goes with its lifetime.
        #expect(issuing.awaitingConfirmations == 1)

        let (second, secondCode) = try await CertificateTests.readyToIssue(issuing)
        let implicit = try await Self.enroll(issuing, receipt: second, code: secondCode, implicitConfirm: true)
        #expect(implicit.implicitlyConfirmed)
        #expect(issuing.awaitingConfirmations == 1)
    }

    @Test("a kept transaction goes when its lifetime is over, though the table never fills; past its capacity it starts over")
    func keptTransactionsExpire() throws {
        let clock = ManualTimeSource(Date(timeIntervalSince1970: 1_780_000_000))
        let kept = AwaitingConfirmations(capacity: 4, lifetime: 300, now: { clock.now() })
        let key = try PasswordBasedMACKey(secret: Array("s3cret".utf8), parameters: .make(salt: [1, 2, 3], iterations: 10))
        let entry = AwaitingConfirmations.Entry(
            key: key, token: ApplicationToken.generate(using: SeededRandomSource(seed: 3)),
            reference: ReferenceNumber.generate(using: SeededRandomSource(seed: 4)),
            serial: "01", certificateDER: [0x30, 0x00])
        for index in 0..<3 {
            kept.keep(entry, transactionID: [UInt8(index)])
            clock.advance(by: 60)
        }
        #expect(kept.count == 3)
        clock.advance(by: 300 - 180 + 1)  // the first is 301 s old, the others 241 and 181
        #expect(kept.count == 2)
        clock.advance(by: 120)
        #expect(kept.count == 0)
        for index in 0..<5 { kept.keep(entry, transactionID: [UInt8(index)]) }
        #expect(kept.count == 1)
    }
}
