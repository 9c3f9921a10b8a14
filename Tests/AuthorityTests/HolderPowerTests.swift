import Activation
import AuthorityInterface
import CMP
import Crypto
import Foundation
import ParapheShared
import RevocationList
import SwiftASN1
import Testing
import X509

@testable import Authority

/// What a certificate's holder may do (issue 22, hole 4): only the current certificate updates, not once a
/// recovery began; an older one may revoke only itself; the current key's compromise takes every valid one.
@Suite("Holder powers")
struct HolderPowerTests {
    /// A P-256 key the test can sign with, its SubjectPublicKeyInfo, and a CSR.
    struct Holder {
        let key = P256.Signing.PrivateKey()
        var publicKeyInfo: [UInt8] {
            get throws {
                var serializer = DER.Serializer()
                try serializer.serialize(Certificate.PublicKey(key.publicKey))
                return serializer.serializedBytes
            }
        }
        func csr() throws -> [UInt8] {
            let request = try CertificateSigningRequest(
                version: .v1, subject: try DistinguishedName { CommonName("x") }, privateKey: Certificate.PrivateKey(key),
                attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: .ecdsaWithSHA256)
            var serializer = DER.Serializer()
            try serializer.serialize(request)
            return serializer.serializedBytes
        }
    }

    static func serial(_ der: [UInt8]) throws -> String { Hex.uppercase(try Certificate(derEncoded: der).serialNumber.bytes) }

    static func der(_ name: DistinguishedName) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(name)
        return serializer.serializedBytes
    }

    /// An `rr` for `serial`, signed by `signer` holding the certificate `certificate`; the status the authority answers.
    static func revokeRequest(
        serial: String, reason: RevocationReason, signer: Holder, certificate: [UInt8], ca: Certificate, authority: EmbeddedAuthority
    ) async throws -> PKIStatusInfo? {
        let details = try RevDetails(serialNumber: try #require(Array(hex: serial)), issuer: try Self.der(ca.subject), reasonCode: reason.rawValue)
        var message = PKIMessage(
            header: PKIHeader(
                sender: try PKIHeader.directoryName(try Certificate(derEncoded: certificate).subject), transactionID: Array(repeating: 9, count: 16),
                senderNonce: (0..<16).map { _ in UInt8.random(in: 0...255) }),
            body: .rr([details]), extraCerts: [certificate])
        try message.protect(signatureAlgorithm: AlgorithmIdentifier.ecdsaWithSHA256) { Array(try signer.key.signature(for: $0).derRepresentation) }
        let answer = try PKIMessage(derEncoded: try await authority.cmp(try message.serialized()))
        guard case .rp(let content) = answer.body else { return nil }
        return content.status.first
    }

    @Test("a replaced certificate can no longer update (its key may sit in a dated backup); resending the same new key gets the same certificate")
    func onlyTheCurrentCertificateUpdates() async throws {
        let bed = TestBed(seed: 2241)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, code) = try await CertificateTests.readyToIssue(authority)
        let first = Holder()
        let second = Holder()
        let third = Holder()
        let a = try Self.serial(
            try await authority.issueCertificate(token: receipt.token, reference: receipt.reference, authorization: code, csrDER: try first.csr())
                .certificateDER)
        let b = try await authority.updateCertificate(replacing: a, publicKeyInfoDER: try second.publicKeyInfo)
        // An interrupted update resumes from A with the same new key: B again, nothing minted.
        #expect(try await authority.updateCertificate(replacing: a, publicKeyInfoDER: try second.publicKeyInfo).certificateDER == b.certificateDER)
        // A's key asks for a new certificate for another key: refused.
        let refused = await caught { try await authority.updateCertificate(replacing: a, publicKeyInfoDER: try third.publicKeyInfo) }
        #expect((refused as? AuthorityError)?.code == .notAuthorized, "\(String(describing: refused))")
        #expect(try await authority.record(for: receipt.token).certificateSerial == Self.serial(b.certificateDER))
        // B (current) may.
        _ = try await authority.updateCertificate(replacing: try Self.serial(b.certificateDER), publicKeyInfoDER: try third.publicKeyInfo)
        #expect(try await authority.auditLog().filter { $0.event == "certificateUpdated" }.count == 2)
    }

    @Test("once a recovery's identity check passed, the current certificate can no longer update; before, it still can")
    func noUpdateOnceARecoveryBegan() async throws {
        let bed = TestBed(seed: 2242)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, code) = try await CertificateTests.readyToIssue(authority)
        let holder = Holder()
        var current = try Self.serial(
            try await authority.issueCertificate(token: receipt.token, reference: receipt.reference, authorization: code, csrDER: try holder.csr())
                .certificateDER)
        try await authority.requestRecovery(email: Sample.subscriber.email)
        // Pending (someone asked; nobody answered the questions yet): the holder keeps its powers.
        current = try Self.serial(
            try await authority.updateCertificate(replacing: current, publicKeyInfoDER: try Holder().publicKeyInfo).certificateDER)
        _ = try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers)
        let refused = await caught { try await authority.updateCertificate(replacing: current, publicKeyInfoDER: try Holder().publicKeyInfo) }
        #expect((refused as? AuthorityError)?.code == .notAuthorized, "\(String(describing: refused))")
    }

    @Test("an older certificate may revoke only itself; the current one's keyCompromise revokes every unexpired certificate")
    func revocationPowers() async throws {
        let bed = TestBed(seed: 2243)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let ca = try Certificate(derEncoded: try await authority.caCertificateDER())
        let (receipt, code) = try await CertificateTests.readyToIssue(authority)
        let first = Holder()
        let second = Holder()
        let third = Holder()
        let aDER = try await authority.issueCertificate(
            token: receipt.token, reference: receipt.reference, authorization: code, csrDER: try first.csr()
        ).certificateDER
        let bDER = try await authority.updateCertificate(replacing: try Self.serial(aDER), publicKeyInfoDER: try second.publicKeyInfo).certificateDER
        let cDER = try await authority.updateCertificate(replacing: try Self.serial(bDER), publicKeyInfoDER: try third.publicKeyInfo).certificateDER
        let (a, b, c) = (try Self.serial(aDER), try Self.serial(bDER), try Self.serial(cDER))

        // A (replaced) asks to revoke C: refused; C stays good.
        let other = try await Self.revokeRequest(serial: c, reason: .keyCompromise, signer: first, certificate: aDER, ca: ca, authority: authority)
        #expect(other?.failInfo?.contains(.notAuthorized) == true)
        #expect(try await authority.certificateHolder(of: cDER)?.revoked == false)
        // A revokes itself (superseded): only A; the application stays activated.
        #expect(
            try await Self.revokeRequest(serial: a, reason: .superseded, signer: first, certificate: aDER, ca: ca, authority: authority)?.isPositive
                == true)
        #expect(try await authority.certificateHolder(of: aDER)?.revoked == true)
        #expect(try await authority.certificateHolder(of: bDER)?.revoked == false)
        #expect(try await authority.record(for: receipt.token).status == .activated)
        // C's key is compromised: B and C go too (A already had), the application is revoked.
        #expect(
            try await Self.revokeRequest(serial: c, reason: .keyCompromise, signer: third, certificate: cDER, ca: ca, authority: authority)?
                .isPositive == true)
        for der in [bDER, cDER] { #expect(try await authority.certificateHolder(of: der)?.revoked == true) }
        #expect(try await authority.record(for: receipt.token).status == .revoked)
        let revoked = try await authority.auditLog().filter { $0.event == "certificateRevoked" }.map(\.detail)
        #expect(revoked.count == 3 && revoked.contains("serial \(b): keyCompromise") && revoked.contains("serial \(c): keyCompromise"), "\(revoked)")
        _ = a
    }

    @Test("the client takes an answer signed by the CMP responder (id-kp-cmcCA) only, not by any certificate the CA issued (hole 13)")
    func theClientChecksTheResponderUsage() async throws {
        let bed = TestBed(seed: 2244)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let caDER = try await authority.caCertificateDER()
        let (receipt, code) = try await CertificateTests.readyToIssue(authority)
        let holder = Holder()
        let der = try await authority.issueCertificate(
            token: receipt.token, reference: receipt.reference, authorization: code, csrDER: try holder.csr()
        ).certificateDER
        let signer = CMPHolderTransaction.Signer(certificateDER: der, algorithm: .ecdsaWithSHA256) {
            Array(try holder.key.signature(for: $0).derRepresentation)
        }
        let random: (Int) -> [UInt8] = { count in (0..<count).map { _ in UInt8.random(in: 0...255) } }
        // The real responder: accepted.
        try await CMPHolderTransaction.confirm(signer: signer, trustedCA: caDER, random: random, now: bed.time.now()) { try await authority.cmp($0) }
        // A man in the middle holding a subscriber's certificate and key (any subscriber has both) re-signs the answer.
        let forged = await caught {
            try await CMPHolderTransaction.confirm(signer: signer, trustedCA: caDER, random: random, now: bed.time.now()) { request in
                var answer = try PKIMessage(derEncoded: try await authority.cmp(request))
                answer.extraCerts = [der]
                try answer.protect(signatureAlgorithm: AlgorithmIdentifier.ecdsaWithSHA256) {
                    Array(try holder.key.signature(for: $0).derRepresentation)
                }
                return try answer.serialized()
            }
        }
        #expect((forged as? CMPError)?.code == .badSignature, "\(String(describing: forged))")
    }

    @Test("the CMP responder's certificate is replaced in process 30 days before its end, at the authority's clock (hole 6)")
    func theResponderCertificateIsRenewed() async throws {
        let bed = TestBed(seed: 2261)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let firstDER = try authority.cmpSigningIdentity().certificateDER
        let first = try Certificate(derEncoded: firstDER)
        #expect(first.notValidAfter > bed.time.now() + 89 * 86_400)
        bed.time.advance(by: 59 * 86_400)
        #expect(try authority.cmpSigningIdentity().certificateDER == firstDER)
        bed.time.advance(by: 2 * 86_400)
        let second = try Certificate(derEncoded: try authority.cmpSigningIdentity().certificateDER)
        #expect(second.serialNumber != first.serialNumber && second.notValidAfter > bed.time.now() + 89 * 86_400)
    }
}
