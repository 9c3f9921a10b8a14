import Activation
import CMP
import Foundation
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

    @Test("a wrong code is answered unprotected and counts against no application, even when the right code's key is kept")
    func wrongCodeAfterKeptKey() async throws {
        let bed = TestBed(seed: 78)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, code) = try await CertificateTests.readyToIssue(authority)
        // The right code's key for these parameters gets kept by a certConf that verifies (no certificate yet).
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
        // Same parameters, wrong code: no kept key answers it.
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
}
