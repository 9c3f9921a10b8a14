import Crypto
import SwiftASN1

/// PasswordBasedMac (RFC 4211 §4.4, RFC 9810 §5.1.3.1): the PBMParameter and the MAC it defines.
public struct PasswordBasedMAC: Sendable, Hashable {
    public var salt: [UInt8]
    /// The one-way function (a hash): SHA-1, SHA-256, SHA-384 or SHA-512.
    public var owf: CMPAlgorithmIdentifier
    public var iterationCount: Int
    /// The MAC: HMAC with SHA-1 (either OID), SHA-256, SHA-384 or SHA-512.
    public var mac: CMPAlgorithmIdentifier

    public init(salt: [UInt8], owf: CMPAlgorithmIdentifier, iterationCount: Int, mac: CMPAlgorithmIdentifier) {
        self.salt = salt
        self.owf = owf
        self.iterationCount = iterationCount
        self.mac = mac
    }

    /// SHA-256 as OWF and HMAC-SHA256 (1.2.840.113549.2.9) as MAC, as RFC 9481 §6.1.1 recommends.
    public static func make(salt: [UInt8], iterations: Int) -> PasswordBasedMAC {
        PasswordBasedMAC(
            salt: salt, owf: CMPAlgorithmIdentifier(algorithm: CMPOID.sha256), iterationCount: iterations,
            mac: CMPAlgorithmIdentifier(algorithm: CMPOID.hmacWithSHA256))
    }

    /// Reads the parameters of a PBM protectionAlg (nil if the algorithm is not PasswordBasedMac).
    public init?(algorithmIdentifier: CMPAlgorithmIdentifier) throws(CMPError) {
        guard algorithmIdentifier.algorithm == CMPOID.passwordBasedMAC else { return nil }
        guard let parameters = algorithmIdentifier.parameters else { throw CMPError.malformed("PBM without parameters") }
        self = try decoding("PBMParameter") {
            try DER.sequence(try DER.parse(parameters), identifier: .sequence) { nodes in
                PasswordBasedMAC(
                    salt: Array(try ASN1OctetString(derEncoded: &nodes).bytes), owf: try CMPAlgorithmIdentifier(derEncoded: &nodes),
                    iterationCount: try Int(derEncoded: &nodes), mac: try CMPAlgorithmIdentifier(derEncoded: &nodes))
            }
        }
    }

    /// The protectionAlg naming PasswordBasedMac with these parameters.
    public func algorithmIdentifier() throws -> CMPAlgorithmIdentifier {
        let parameters = try derBytes { coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.serialize(ASN1OctetString(contentBytes: salt[...]))
                try coder.serialize(owf)
                try coder.serialize(iterationCount)
                try coder.serialize(mac)
            }
        }
        return CMPAlgorithmIdentifier(algorithm: CMPOID.passwordBasedMAC, parameters: parameters)
    }

    /// The MAC of `data`: key = owf^iterationCount(secret ‖ salt), then mac(key, data).
    public func authenticationCode(secret: [UInt8], for data: [UInt8]) throws(CMPError) -> [UInt8] {
        guard iterationCount >= 1 else { throw CMPError(.iterationCountOutOfRange, "PBM iteration count below 1") }
        guard owf.hasNoParameters, mac.hasNoParameters else {
            throw CMPError(.wrongProtectionAlgorithm, "unexpected PBM algorithm parameters")
        }
        let hash: ([UInt8]) -> [UInt8]
        switch owf.algorithm {
        case CMPOID.sha1: hash = { Array(Insecure.SHA1.hash(data: $0)) }
        case CMPOID.sha256: hash = { Array(SHA256.hash(data: $0)) }
        case CMPOID.sha384: hash = { Array(SHA384.hash(data: $0)) }
        case CMPOID.sha512: hash = { Array(SHA512.hash(data: $0)) }
        default: throw CMPError(.wrongProtectionAlgorithm, "unsupported PBM one-way function")
        }
        var key = hash(secret + salt)
        for _ in 1..<iterationCount { key = hash(key) }
        let symmetricKey = SymmetricKey(data: key)
        switch mac.algorithm {
        case CMPOID.hmacSHA1, CMPOID.hmacWithSHA1:
            return Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: symmetricKey))
        case CMPOID.hmacWithSHA256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: symmetricKey))
        case CMPOID.hmacWithSHA384: return Array(HMAC<SHA384>.authenticationCode(for: data, using: symmetricKey))
        case CMPOID.hmacWithSHA512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: symmetricKey))
        default: throw CMPError(.wrongProtectionAlgorithm, "unsupported PBM MAC algorithm")
        }
    }
}

extension PKIMessage {
    /// The PBM parameters of this message's protectionAlg, if it is PasswordBasedMac and well formed.
    public var passwordBasedMAC: PasswordBasedMAC? {
        guard let algorithm = header.protectionAlg else { return nil }
        return (try? PasswordBasedMAC(algorithmIdentifier: algorithm)) ?? nil
    }

    /// Protects the message with PasswordBasedMac (SHA-256, HMAC-SHA256): sets protectionAlg and protection.
    public mutating func protect(withSecret secret: [UInt8], salt: [UInt8], iterations: Int) throws {
        guard iterations >= 1 else { throw CMPError(.iterationCountOutOfRange, "PBM iteration count below 1") }
        let pbm = PasswordBasedMAC.make(salt: salt, iterations: iterations)
        header.protectionAlg = try pbm.algorithmIdentifier()
        protection = try pbm.authenticationCode(secret: secret, for: try protectedPartDER())
    }

    /// Checks a PasswordBasedMac protection with `secret`, refusing iteration counts outside 1…maxIterations.
    public func verifyProtection(secret: [UInt8], maxIterations: Int) throws(CMPError) {
        guard let algorithm = header.protectionAlg, let protection else {
            throw CMPError(.notProtected, "the message is not protected")
        }
        guard let pbm = try PasswordBasedMAC(algorithmIdentifier: algorithm) else {
            throw CMPError(.wrongProtectionAlgorithm, "the message is not protected with a password-based MAC")
        }
        guard pbm.iterationCount >= 1, pbm.iterationCount <= maxIterations else {
            throw CMPError(.iterationCountOutOfRange, "PBM iteration count \(pbm.iterationCount) out of range")
        }
        let part: [UInt8]
        do { part = try protectedPartDER() } catch { throw CMPError.malformed("cannot encode the protected part") }
        guard constantTimeEqual(try pbm.authenticationCode(secret: secret, for: part), protection) else {
            throw CMPError(.badMAC, "the password-based MAC does not verify")
        }
    }
}
