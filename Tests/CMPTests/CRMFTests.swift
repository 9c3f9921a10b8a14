import CMP
import Crypto
import Foundation
import ParapheShared
import SwiftASN1
import Testing
import X509
import _CryptoExtras

@Suite("CRMF requests and proof of possession")
struct CRMFTests {
    static func request(_ der: [UInt8]) throws -> CertReqMsg {
        guard case .ir(let requests) = try PKIMessage(derEncoded: der).body, let first = requests.first else {
            throw TestFailure("not an ir")
        }
        return first
    }

    static func popCode(_ request: CertReqMsg) -> CMPError.Code? {
        do {
            try request.verifyProofOfPossession()
            return nil
        } catch {
            return error.code
        }
    }

    @Test("the POP of openssl's ir verifies; one changed signature byte or subject byte breaks it")
    func opensslPOP() throws {
        try Self.request(OpenSSLFixture.ir).verifyProofOfPossession()

        var signature = OpenSSLFixture.ir
        signature[signature.count - 30] ^= 0x01
        #expect(Self.popCode(try Self.request(signature)) == .badProofOfPossession)

        // The subject "x" (offset 197, inside the CertTemplate) becomes "y": still well formed, no longer signed.
        var subject = OpenSSLFixture.ir
        #expect(subject[197] == UInt8(ascii: "x"))
        subject[197] = UInt8(ascii: "y")
        let changed = try Self.request(subject)
        #expect(changed.certReq.certTemplate.subjectName == (try DistinguishedName { CommonName("y") }))
        #expect(Self.popCode(changed) == .badProofOfPossession)
    }

    @Test("the POP check uses the CertRequest bytes as received")
    func keepsReceivedBytes() throws {
        let original = try Self.request(OpenSSLFixture.ir)
        #expect(try original.certRequestDER() == Array(OpenSSLFixture.ir[175..<(175 + 2 + 112)]))
        var edited = original
        edited.certReq.certReqId = 5
        #expect(try edited.certRequestDER() != original.certRequestDER())
        #expect(Self.popCode(edited) == .badProofOfPossession)
        edited.certReq.certReqId = 0
        try edited.verifyProofOfPossession()  // re-encoded from fields: the same DER again
    }

    static func spki(_ key: Certificate.PublicKey) throws -> [UInt8] { try CertTemplate.publicKeyInfoDER(key) }

    @Test("signed requests verify for P-256, P-384, RSA-2048 and Ed25519 keys, and survive a round trip")
    func signedRequests() throws {
        let subject = try derBytes(
            try DistinguishedName {
                CommonName("Jeanne Tremblay")
                OrganizationName("Paraphe")
            })
        let p256 = P256.Signing.PrivateKey()
        let p384 = P384.Signing.PrivateKey()
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let ed = Curve25519.Signing.PrivateKey()
        let cases: [(String, [UInt8], ([UInt8]) throws -> (algorithmIdentifierDER: [UInt8], signature: [UInt8]))] = [
            (
                "P-256", try Self.spki(.init(p256.publicKey)),
                { (try AlgorithmIdentifier.ecdsaWithSHA256.derEncoded(), Array(try p256.signature(for: $0).derRepresentation)) }
            ),
            (
                "P-384", try Self.spki(.init(p384.publicKey)),
                { (try AlgorithmIdentifier.ecdsaWithSHA384.derEncoded(), Array(try p384.signature(for: $0).derRepresentation)) }
            ),
            (
                "RSA", try Self.spki(.init(rsa.publicKey)),
                {
                    (
                        try AlgorithmIdentifier.sha256WithRSAEncryption.derEncoded(),
                        Array(try rsa.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation)
                    )
                }
            ),
            ("Ed25519", try Self.spki(.init(ed.publicKey)), { (try AlgorithmIdentifier.ed25519.derEncoded(), Array(try ed.signature(for: $0))) }),
        ]
        for (name, spki, sign) in cases {
            let request = try CertReqMsg.signed(certReqId: 0, subject: subject, publicKeyInfoDER: spki, sign: sign)
            try request.verifyProofOfPossession()
            let message = PKIMessage(header: PKIHeader(), body: .cr([request]))
            guard case .cr(let decoded) = try PKIMessage(derEncoded: try message.serialized()).body else {
                Issue.record("\(name): not a cr")
                continue
            }
            try decoded[0].verifyProofOfPossession()
            #expect(decoded[0].certReq.certTemplate.publicKey == spki, "\(name)")
            #expect(
                try Certificate.PublicKey(derEncoded: spki)
                    == Certificate.PublicKey(derEncoded: try #require(decoded[0].certReq.certTemplate.publicKey)))

            var other = request
            other.certReq.certTemplate.publicKey = try Self.spki(.init(P256.Signing.PrivateKey().publicKey))
            #expect(Self.popCode(other) == .badProofOfPossession, "\(name) with another key")
        }
    }

    @Test("the template's publicKey is IMPLICIT [6] and its extensions IMPLICIT [9], as openssl writes them")
    func templateTagging() throws {
        let request = try CodecTests.sampleRequest()
        let bytes = try derBytes(request.certReq.certTemplate)
        let node = try DER.parse(bytes)
        guard case .constructed(let fields) = node.content else { throw TestFailure("primitive template") }
        let tags = fields.map { $0.identifier }
        #expect(
            tags == [
                ASN1Identifier(tagWithNumber: 5, tagClass: .contextSpecific), ASN1Identifier(tagWithNumber: 6, tagClass: .contextSpecific),
                ASN1Identifier(tagWithNumber: 9, tagClass: .contextSpecific),
            ])
        let publicKey = Array(fields)[1]
        guard case .constructed(let spkiFields) = publicKey.content else { throw TestFailure("primitive [6]") }
        #expect(spkiFields.map(\.identifier) == [.sequence, .bitString], "[6] holds the SPKI's contents, not a SEQUENCE")
        let extensions = try #require(try request.certReq.certTemplate.parsedExtensions())
        #expect(try extensions.subjectAlternativeNames == SubjectAlternativeNames([.dnsName("example.org")]))
    }

    @Test("POPs that are not plain signatures are refused")
    func otherPOPs() throws {
        var request = try CodecTests.sampleRequest()
        guard case .signature(var pop) = request.popo else { throw TestFailure("no signature") }
        request.popo = .raVerified
        #expect(Self.popCode(request) == .badProofOfPossession)
        request.popo = nil
        #expect(Self.popCode(request) == .badProofOfPossession)
        request.popo = .keyEncipherment([0xa2, 0x02, 0x80, 0x00])
        #expect(Self.popCode(request) == .badProofOfPossession)

        pop.poposkInput = [0xa0, 0x02, 0x30, 0x00]
        request.popo = .signature(pop)
        let decoded = try CMP.CertReqMsg(derEncoded: try derBytes(request))
        guard case .signature(let decodedPOP) = decoded.popo else { throw TestFailure("lost the POP") }
        #expect(decodedPOP.poposkInput == [0xa0, 0x02, 0x30, 0x00])
        #expect(Self.popCode(decoded) == .badProofOfPossession)

        pop.poposkInput = nil
        pop.algorithmIdentifier = AlgorithmIdentifier(algorithm: [1, 2, 840, 10045, 4, 1])  // ecdsa-with-SHA1
        request.popo = .signature(pop)
        #expect(Self.popCode(request) == .badProofOfPossession)
        var noKey = try CodecTests.sampleRequest()
        noKey.certReq.certTemplate.publicKey = nil
        #expect(Self.popCode(noKey) == .badProofOfPossession)
    }
}
