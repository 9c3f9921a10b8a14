import CMP
import Crypto
import Foundation
import HashChain
import ParapheShared
import ParapheTestSupport
import SwiftASN1
import Testing
import X509

@Suite("Message protection")
struct ProtectionTests {
    /// The code of the CMPError `body` throws (nil when it throws nothing or another error).
    static func code(_ body: () throws -> Void) -> CMPError.Code? {
        do {
            try body()
            return nil
        } catch {
            return (error as? CMPError)?.code
        }
    }

    @Test("each PBM one-way function chains as H(H(…H(x))) (libcrypto's loop against swift-crypto's digests)")
    func theHashChainOfEachFunction() throws {
        let input = Array("secret and salt".utf8)
        func chained<H: HashFunction>(_: H.Type, _ count: Int) -> [UInt8] {
            (1..<count).reduce(Array(H.hash(data: input))) { digest, _ in Array(H.hash(data: digest)) }
        }
        for count in [1, 2, 1_000] {
            #expect(HashChain.iterate(.sha1, of: input, count: count) == chained(Insecure.SHA1.self, count))
            #expect(HashChain.iterate(.sha256, of: input, count: count) == chained(SHA256.self, count))
            #expect(HashChain.iterate(.sha384, of: input, count: count) == chained(SHA384.self, count))
            #expect(HashChain.iterate(.sha512, of: input, count: count) == chained(SHA512.self, count))
        }
        #expect(HashChain.iterate(.sha256, of: [], count: 1) == Array(SHA256.hash(data: [UInt8]())))
        #expect(HashChain.iterate(.sha256, of: input, count: 0) == nil)
    }

    @Test("openssl's PBM (SHA-256, 500 iterations, hmac-sha1) verifies with the right secret only")
    func opensslKnownAnswer() throws {
        for der in [OpenSSLFixture.ir, OpenSSLFixture.ip, OpenSSLFixture.certConf, OpenSSLFixture.pkiConf] {
            let message = try PKIMessage(derEncoded: der)
            try message.verifyProtection(secret: OpenSSLFixture.secret, maxIterations: 10_000)
            #expect(Self.code { try message.verifyProtection(secret: Array("ABD".utf8), maxIterations: 10_000) } == .badMAC)
            #expect(Self.code { try message.verifyProtection(secret: [], maxIterations: 10_000) } == .badMAC)
            #expect(Self.code { try message.verifyProtection(secret: OpenSSLFixture.secret, maxIterations: 499) } == .iterationCountOutOfRange)
        }
        // The MAC by hand: key = SHA-256^500("ABC" ‖ salt), HMAC-SHA1(key, ProtectedPart).
        let ir = try PKIMessage(derEncoded: OpenSSLFixture.ir)
        let salt = try #require(ir.passwordBasedMAC).salt
        var key = Array(SHA256.hash(data: OpenSSLFixture.secret + salt))
        for _ in 1..<500 { key = Array(SHA256.hash(data: key)) }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: try ir.protectedPartDER(), using: SymmetricKey(data: key))
        #expect(Array(mac) == ir.protection)
        #expect(try ir.protectedPartDER() == Array(OpenSSLFixture.ir[4..<(4 + 3 + 0x9f)]).wrappedInSequence(bodyFrom: OpenSSLFixture.ir))
    }

    @Test("a tampered message fails the MAC")
    func tampered() throws {
        var bytes = OpenSSLFixture.ir
        bytes[bytes.count - 30] ^= 0x01  // inside the POP signature, part of the body
        let message = try PKIMessage(derEncoded: bytes)
        #expect(Self.code { try message.verifyProtection(secret: OpenSSLFixture.secret, maxIterations: 10_000) } == .badMAC)
        var protection = try PKIMessage(derEncoded: OpenSSLFixture.ir)
        protection.protection?[0] ^= 0x80
        #expect(Self.code { try protection.verifyProtection(secret: OpenSSLFixture.secret, maxIterations: 10_000) } == .badMAC)
    }

    @Test("protect(with:) writes SHA-256/HMAC-SHA256 PBM parameters that verify (openssl's check: InteropTests)")
    func ownPBM() throws {
        var message = PKIMessage(header: PKIHeader(senderKID: Array("ref".utf8), transactionID: randomBytes(16)), body: .pkiConf)
        #expect(message.protectionKind == .none)
        #expect(Self.code { try message.verifyProtection(secret: [1], maxIterations: 10) } == .notProtected)
        let salt = randomBytes(16)
        try message.protect(with: PasswordBasedMACKey(secret: Array("s3cret".utf8), parameters: .make(salt: salt, iterations: 10_000)))
        #expect(message.protectionKind == .passwordBasedMAC)
        let pbm = try #require(message.passwordBasedMAC)
        #expect(pbm == PasswordBasedMAC.make(salt: salt, iterations: 10_000))
        #expect(pbm.mac.algorithm == [1, 2, 840, 113549, 2, 9])
        #expect(pbm.mac.parameters == nil && pbm.owf.parameters == nil)
        #expect(message.protection?.count == 32)

        let decoded = try PKIMessage(derEncoded: try message.serialized())
        try decoded.verifyProtection(secret: Array("s3cret".utf8), maxIterations: 10_000)
        #expect(Self.code { try decoded.verifyProtection(secret: Array("s3cret!".utf8), maxIterations: 10_000) } == .badMAC)
        #expect(Self.code { try decoded.verifyProtection(secret: Array("s3cret".utf8), maxIterations: 9_999) } == .iterationCountOutOfRange)

        #expect(throws: CMPError.self) { try message.protect(with: PasswordBasedMACKey(secret: [1], parameters: .make(salt: salt, iterations: 0))) }
    }

    @Test("one derived PBM key protects and checks every message with its parameters, and only those")
    func derivedKeyReuse() throws {
        let secret = Array("s3cret".utf8)
        let key = try PasswordBasedMACKey(secret: secret, parameters: .make(salt: randomBytes(16), iterations: 1_000))
        var request = PKIMessage(header: PKIHeader(senderKID: Array("ref".utf8), transactionID: randomBytes(16)), body: .pkiConf)
        try request.protect(with: key)
        var confirmation = request
        confirmation.header.senderNonce = randomBytes(16)
        try confirmation.protect(with: key)
        #expect(request.protection != confirmation.protection)
        for message in [request, confirmation] {
            let decoded = try PKIMessage(derEncoded: try message.serialized())
            // The textbook check (a derivation of its own) agrees with the shared key.
            try decoded.verifyProtection(secret: secret, maxIterations: 1_000)
            try decoded.verifyProtection(key: key)
            #expect(Self.code { try decoded.verifyProtection(secret: Array("s3cret!".utf8), maxIterations: 1_000) } == .badMAC)
        }

        // A key is reused only for its own parameters: another salt derives afresh (and must verify on its own).
        var other = PKIMessage(header: PKIHeader(transactionID: randomBytes(16)), body: .pkiConf)
        try other.protect(with: PasswordBasedMACKey(secret: secret, parameters: .make(salt: randomBytes(16), iterations: 1_000)))
        #expect(Self.code { try other.verifyProtection(key: key) } == .badMAC)
        let used = try other.verifyProtection(secret: secret, maxIterations: 1_000, reusing: key)
        #expect(used.parameters == other.passwordBasedMAC)
        // Reused when the parameters match: a key derived from a wrong secret then fails, proving it was used.
        let wrong = try PasswordBasedMACKey(secret: Array("guess".utf8), parameters: try #require(request.passwordBasedMAC))
        #expect(Self.code { try request.verifyProtection(secret: secret, maxIterations: 1_000, reusing: wrong) } == .badMAC)
        // The bound on the count holds before any derivation, reuse or not.
        #expect(Self.code { try other.verifyProtection(secret: secret, maxIterations: 999, reusing: nil) } == .iterationCountOutOfRange)
    }

    @Test("iteration counts below 1 are refused, and unknown MAC algorithms are told apart")
    func parameterChecks() throws {
        var message = PKIMessage(header: PKIHeader(), body: .pkiConf)
        let zero = PasswordBasedMAC(
            salt: [1], owf: AlgorithmIdentifier(algorithm: [2, 16, 840, 1, 101, 3, 4, 2, 1]), iterationCount: 0,
            mac: AlgorithmIdentifier(algorithm: [1, 2, 840, 113549, 2, 9]))
        message.header.protectionAlg = try zero.algorithmIdentifier()
        message.protection = [0]
        #expect(Self.code { try message.verifyProtection(secret: [1], maxIterations: 100) } == .iterationCountOutOfRange)

        var md5 = zero
        md5.iterationCount = 1
        md5.mac = AlgorithmIdentifier(algorithm: [1, 3, 6, 1, 5, 5, 8, 1, 1])
        message.header.protectionAlg = try md5.algorithmIdentifier()
        #expect(Self.code { try message.verifyProtection(secret: [1], maxIterations: 100) } == .wrongProtectionAlgorithm)

        message.header.protectionAlg = .ecdsaWithSHA256
        #expect(Self.code { try message.verifyProtection(secret: [1], maxIterations: 100) } == .wrongProtectionAlgorithm)
        #expect(message.protectionKind == .signature(.ecdsaWithSHA256))
        message.header.protectionAlg = AlgorithmIdentifier(algorithm: [1, 2, 3])
        #expect(message.protectionKind == .unsupported([1, 2, 3]))
    }

    @Test("signature protection with P-256 and Ed25519 verifies, and fails for another key or a changed body")
    func signatureProtection() throws {
        let p256 = P256.Signing.PrivateKey()
        var message = PKIMessage(
            header: PKIHeader(transactionID: randomBytes(16)), body: .rr([try RevDetails(serialNumber: [5], issuer: [0x30, 0x00], reasonCode: 0)]))
        try message.protect(signatureAlgorithm: .ecdsaWithSHA256) { Array(try p256.signature(for: $0).derRepresentation) }
        let spki = try CertTemplate.publicKeyInfoDER(Certificate.PublicKey(p256.publicKey))
        let decoded = try PKIMessage(derEncoded: try message.serialized())
        #expect(decoded.protectionKind == .signature(.ecdsaWithSHA256))
        try decoded.verifySignatureProtection(publicKeyInfoDER: spki)
        let other = try CertTemplate.publicKeyInfoDER(Certificate.PublicKey(P256.Signing.PrivateKey().publicKey))
        #expect(Self.code { try decoded.verifySignatureProtection(publicKeyInfoDER: other) } == .badSignature)
        var changed = decoded
        changed.body = .pkiConf
        #expect(Self.code { try changed.verifySignatureProtection(publicKeyInfoDER: spki) } == .badSignature)
        #expect(Self.code { try decoded.verifyProtection(secret: [1], maxIterations: 10) } == .wrongProtectionAlgorithm)

        let ed = Curve25519.Signing.PrivateKey()
        var edMessage = PKIMessage(header: PKIHeader(), body: .pkiConf)
        try edMessage.protect(signatureAlgorithm: .ed25519) { Array(try ed.signature(for: $0)) }
        try PKIMessage(derEncoded: try edMessage.serialized())
            .verifySignatureProtection(publicKeyInfoDER: try CertTemplate.publicKeyInfoDER(Certificate.PublicKey(ed.publicKey)))
        #expect(Self.code { try PKIMessage(header: PKIHeader(), body: .pkiConf).verifySignatureProtection(publicKeyInfoDER: spki) } == .notProtected)
    }
}

extension Array where Element == UInt8 {
    /// `SEQUENCE { self, body }` where body is the element following the header in a PKIMessage.
    func wrappedInSequence(bodyFrom message: [UInt8]) throws -> [UInt8] {
        let root = try DER.parse(message)
        guard case .constructed(let children) = root.content else { return [] }
        let parts = [ASN1Node](children)
        let content = self + [UInt8](parts[1].encodedBytes)
        var coder = DER.Serializer()
        coder.appendConstructedNode(identifier: .sequence) { $0.serializeRawBytes(content) }
        return coder.serializedBytes
    }
}
