import Crypto
import HashChain
import ParapheShared
import SwiftASN1

/// PasswordBasedMac (RFC 4211 §4.4, RFC 9810 §5.1.3.1): the PBMParameter and the MAC it defines.
public struct PasswordBasedMAC: Sendable, Hashable {
    public var salt: [UInt8]
    /// The one-way function (a hash): SHA-1, SHA-256, SHA-384 or SHA-512.
    public var owf: AlgorithmIdentifier
    public var iterationCount: Int
    /// The MAC: HMAC with SHA-1 (either OID), SHA-256, SHA-384 or SHA-512.
    public var mac: AlgorithmIdentifier

    public init(salt: [UInt8], owf: AlgorithmIdentifier, iterationCount: Int, mac: AlgorithmIdentifier) {
        self.salt = salt
        self.owf = owf
        self.iterationCount = iterationCount
        self.mac = mac
    }

    /// SHA-256 as OWF and HMAC-SHA256 (1.2.840.113549.2.9) as MAC, as RFC 9481 §6.1.1 recommends.
    public static func make(salt: [UInt8], iterations: Int) -> PasswordBasedMAC {
        PasswordBasedMAC(
            salt: salt, owf: AlgorithmIdentifier(algorithm: CMPOID.sha256), iterationCount: iterations,
            mac: AlgorithmIdentifier(algorithm: CMPOID.hmacWithSHA256))
    }

    /// Reads the parameters of a PBM protectionAlg (nil if the algorithm is not PasswordBasedMac).
    public init?(algorithmIdentifier: AlgorithmIdentifier) throws(CMPError) {
        guard algorithmIdentifier.algorithm == CMPOID.passwordBasedMAC else { return nil }
        guard let parameters = algorithmIdentifier.parameters else { throw CMPError.malformed("PBM without parameters") }
        self = try decoding("PBMParameter") {
            try DER.sequence(try DER.parse(derBytes(parameters)), identifier: .sequence) { nodes in
                PasswordBasedMAC(
                    salt: Array(try ASN1OctetString(derEncoded: &nodes).bytes), owf: try AlgorithmIdentifier(derEncoded: &nodes),
                    iterationCount: try Int(derEncoded: &nodes), mac: try AlgorithmIdentifier(derEncoded: &nodes))
            }
        }
    }

    /// The protectionAlg naming PasswordBasedMac with these parameters.
    public func algorithmIdentifier() throws -> AlgorithmIdentifier {
        let parameters = try derBytes { coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.serialize(ASN1OctetString(contentBytes: salt[...]))
                try coder.serialize(owf)
                try coder.serialize(iterationCount)
                try coder.serialize(mac)
            }
        }
        return AlgorithmIdentifier(algorithm: CMPOID.passwordBasedMAC, parameters: try ASN1Any(derEncoded: DER.parse(parameters)))
    }

}

/// The key of a PasswordBasedMac — owf^iterationCount(secret ‖ salt), the only costly part — with the parameters it
/// was derived for.
///
/// One derivation serves every message of a transaction that carries the same parameters: the client protects its
/// request and its certConf with one salt, and the authority answers with the parameters of the request it checked
/// (RFC 9810 §5.1.3.1 leaves the salt to the sender and asks only for the same shared secret). Why that is safe:
/// the key is what any message with these parameters would derive, so an attacker who captures the messages has the
/// same work per guess of the secret (iterationCount hashes) as with one salt per message; the MACs still cover
/// different protected parts (header with fresh nonces, body), and the key never leaves the process.
public struct PasswordBasedMACKey: Sendable {
    public let parameters: PasswordBasedMAC
    private let key: SymmetricKey

    /// Derives the key (checks the algorithms and the count first).
    public init(secret: [UInt8], parameters: PasswordBasedMAC) throws(CMPError) {
        guard parameters.iterationCount >= 1 else { throw CMPError(.iterationCountOutOfRange, "PBM iteration count below 1") }
        guard parameters.owf.hasNoParameters, parameters.mac.hasNoParameters else {
            throw CMPError(.wrongProtectionAlgorithm, "unexpected PBM algorithm parameters")
        }
        switch parameters.mac.algorithm {
        case CMPOID.hmacSHA1, CMPOID.hmacWithSHA1, CMPOID.hmacWithSHA256, CMPOID.hmacWithSHA384, CMPOID.hmacWithSHA512: break
        default: throw CMPError(.wrongProtectionAlgorithm, "unsupported PBM MAC algorithm")
        }
        let input = secret + parameters.salt
        let count = parameters.iterationCount
        let function: HashChain.Function
        switch parameters.owf.algorithm {
        case CMPOID.sha1: function = .sha1
        case CMPOID.sha256: function = .sha256
        case CMPOID.sha384: function = .sha384
        case CMPOID.sha512: function = .sha512
        default: throw CMPError(.wrongProtectionAlgorithm, "unsupported PBM one-way function")
        }
        guard let derived = HashChain.iterate(function, of: input, count: count) else {
            throw CMPError(.wrongProtectionAlgorithm, "the PBM one-way function could not be computed")
        }
        self.parameters = parameters
        self.key = SymmetricKey(data: derived)
    }

    /// mac(key, data).
    public func authenticationCode(for data: [UInt8]) -> [UInt8] {
        switch parameters.mac.algorithm {
        case CMPOID.hmacWithSHA256: Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case CMPOID.hmacWithSHA384: Array(HMAC<SHA384>.authenticationCode(for: data, using: key))
        case CMPOID.hmacWithSHA512: Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        // The initializer admits nothing else.
        default: Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: key))
        }
    }
}

extension PKIMessage {
    /// The PBM parameters of this message's protectionAlg, if it is PasswordBasedMac and well formed.
    public var passwordBasedMAC: PasswordBasedMAC? {
        guard let algorithm = header.protectionAlg else { return nil }
        return (try? PasswordBasedMAC(algorithmIdentifier: algorithm)) ?? nil
    }

    /// Protects the message with PasswordBasedMac under a derived key: key = owf^iterationCount(secret ‖ salt),
    /// protection = mac(key, ProtectedPart); the key's parameters become the protectionAlg.
    public mutating func protect(with key: PasswordBasedMACKey) throws {
        header.protectionAlg = try key.parameters.algorithmIdentifier()
        protection = key.authenticationCode(for: try protectedPartDER())
    }

    /// Checks a PasswordBasedMac protection with `secret`, refusing iteration counts outside 1…maxIterations;
    /// reuses `known` (derived from the same secret) when the message carries its parameters.
    ///
    /// Returns the key that verified.
    @discardableResult
    public func verifyProtection(secret: [UInt8], maxIterations: Int, reusing known: PasswordBasedMACKey? = nil) throws(CMPError)
        -> PasswordBasedMACKey
    {
        let key: PasswordBasedMACKey
        if let known, let pbm = try pbmParameters(), pbm == known.parameters {
            key = known
        } else {
            key = try passwordBasedMACKey(secret: secret, maxIterations: maxIterations)
        }
        try verifyProtection(key: key)
        return key
    }

    /// The PBM key this message's parameters derive from `secret` (the costly step; the MAC is not checked).
    ///
    /// Refuses a message without PBM protection and iteration counts outside 1…maxIterations (a DoS guard).
    public func passwordBasedMACKey(secret: [UInt8], maxIterations: Int) throws(CMPError) -> PasswordBasedMACKey {
        guard let pbm = try pbmParameters() else {
            throw CMPError(.wrongProtectionAlgorithm, "the message is not protected with a password-based MAC")
        }
        guard pbm.iterationCount >= 1, pbm.iterationCount <= maxIterations else {
            throw CMPError(.iterationCountOutOfRange, "PBM iteration count \(pbm.iterationCount) out of range")
        }
        return try PasswordBasedMACKey(secret: secret, parameters: pbm)
    }

    /// Checks the protection with a derived key, which must be for this message's PBM parameters.
    public func verifyProtection(key: PasswordBasedMACKey) throws(CMPError) {
        guard let protection else { throw CMPError(.notProtected, "the message is not protected") }
        guard try pbmParameters() == key.parameters else {
            throw CMPError(.badMAC, "the message's PBM parameters are not those of the key")
        }
        let part: [UInt8]
        do { part = try protectedPartDER() } catch { throw CMPError.malformed("cannot encode the protected part") }
        guard constantTimeEqual(key.authenticationCode(for: part), protection) else {
            throw CMPError(.badMAC, "the password-based MAC does not verify")
        }
    }

    /// The PBM parameters of the protectionAlg; nil for another algorithm, `.notProtected` without protection.
    private func pbmParameters() throws(CMPError) -> PasswordBasedMAC? {
        guard let algorithm = header.protectionAlg, protection != nil else {
            throw CMPError(.notProtected, "the message is not protected")
        }
        return try PasswordBasedMAC(algorithmIdentifier: algorithm)
    }
}
