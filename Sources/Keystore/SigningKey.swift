import Crypto
import ParapheCore
import ParapheShared
import SwiftASN1
import X509
import _CryptoExtras

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension KeyAlgorithm {
    /// The X.509 signature algorithm used with keys of this kind.
    var signatureAlgorithm: Certificate.SignatureAlgorithm {
        switch self {
        case .rsa2048, .rsa3072: return .sha256WithRSAEncryption
        case .p256: return .ecdsaWithSHA256
        }
    }
}

/// A private signing key held in memory.
public struct SigningKey: Sendable {
    enum Backing: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
    }

    let backing: Backing

    /// The algorithm of this key.
    public let algorithm: KeyAlgorithm

    init(rsa: _RSA.Signing.PrivateKey) throws(KeystoreError) {
        switch rsa.keySizeInBits {
        case 2048: self.algorithm = .rsa2048
        case 3072: self.algorithm = .rsa3072
        default:
            throw .unsupportedAlgorithm("RSA keys of \(rsa.keySizeInBits) bits are not supported (2048 or 3072 only)")
        }
        self.backing = .rsa(rsa)
    }

    init(p256: P256.Signing.PrivateKey) {
        self.backing = .p256(p256)
        self.algorithm = .p256
    }

    /// Generates a fresh random key of the given algorithm.
    public static func generate(_ algorithm: KeyAlgorithm) throws(KeystoreError) -> SigningKey {
        switch algorithm {
        case .rsa2048, .rsa3072:
            let size: _RSA.Signing.KeySize = algorithm == .rsa2048 ? .bits2048 : .bits3072
            let key = try mapError(.cryptoFailure, "RSA key generation failed") {
                try _RSA.Signing.PrivateKey(keySize: size)
            }
            return try SigningKey(rsa: key)
        case .p256:
            return SigningKey(p256: P256.Signing.PrivateKey())
        }
    }

    /// The key wrapped for swift-certificates (signing certificates and CSRs).
    public var certificateKey: Certificate.PrivateKey {
        switch backing {
        case .rsa(let key): return Certificate.PrivateKey(key)
        case .p256(let key): return Certificate.PrivateKey(key)
        }
    }

    /// The matching public key.
    public var publicKey: Certificate.PublicKey {
        switch backing {
        case .rsa(let key): return Certificate.PublicKey(key.publicKey)
        case .p256(let key): return Certificate.PublicKey(key.publicKey)
        }
    }

    /// The key as a DER PKCS#8 PrivateKeyInfo (unencrypted: handle with care).
    public func pkcs8DER() throws(KeystoreError) -> [UInt8] {
        switch backing {
        case .rsa(let key): return Array(key.pkcs8DERRepresentation)
        case .p256(let key): return Array(key.derRepresentation)
        }
    }

    /// Loads an RSA (2048/3072) or P-256 key from a DER PKCS#8 PrivateKeyInfo.
    public init(pkcs8DER: [UInt8]) throws(KeystoreError) {
        let algorithmOID = try mapError(.malformed, "not a PKCS#8 PrivateKeyInfo") {
            try PKCS8Inspector.algorithm(of: pkcs8DER)
        }
        switch algorithmOID.algorithm {
        case OID.rsaEncryption:
            let key = try mapError(.malformed, "invalid RSA private key") {
                // Size policy is enforced by init(rsa:) (2048 or 3072 bits only) with a clear error.
                try _RSA.Signing.PrivateKey(unsafeDERRepresentation: pkcs8DER)
            }
            try self.init(rsa: key)
        case OID.ecPublicKey:
            guard algorithmOID.curve == OID.prime256v1 else {
                throw .unsupportedAlgorithm("only the P-256 elliptic curve is supported")
            }
            let key = try mapError(.malformed, "invalid P-256 private key") {
                try P256.Signing.PrivateKey(derRepresentation: pkcs8DER)
            }
            self.init(p256: key)
        default:
            throw .unsupportedAlgorithm("private key algorithm \(algorithmOID.algorithm) is not supported (RSA or P-256 only)")
        }
    }

    /// True when `certificate` carries this key's public key.
    public func matches(_ certificate: Certificate) -> Bool {
        certificate.publicKey == publicKey
    }

    /// Signs `message` with SHA-256 (PKCS#1 v1.5 for RSA, ECDSA for P-256); returns the raw signature bytes (DER for ECDSA).
    public func sign(_ message: [UInt8]) throws(KeystoreError) -> [UInt8] {
        try mapError(.cryptoFailure, "signing failed") {
            switch backing {
            case .rsa(let key):
                return Array(try key.signature(for: message, padding: .insecurePKCS1v1_5).rawRepresentation)
            case .p256(let key):
                return Array(try key.signature(for: message).derRepresentation)
            }
        }
    }
}

/// Reads just enough of a PKCS#8 PrivateKeyInfo to know its algorithm.
enum PKCS8Inspector {
    struct Algorithm {
        var algorithm: ASN1ObjectIdentifier
        var curve: ASN1ObjectIdentifier?
    }

    static func algorithm(of der: [UInt8]) throws -> Algorithm {
        let root = try BER.parse(der)
        return try BER.sequence(root, identifier: .sequence) { nodes in
            guard let versionNode = nodes.next(), let algNode = nodes.next() else {
                throw KeystoreError.malformed("truncated PrivateKeyInfo")
            }
            let version = try Int(berEncoded: versionNode)
            guard version == 0 || version == 1 else { throw KeystoreError.malformed("unknown PKCS#8 version") }
            let identifier = try AlgorithmIdentifier(berEncoded: algNode)
            // Skip privateKey and optional attributes / public key.
            while nodes.next() != nil {}
            var curve: ASN1ObjectIdentifier?
            if identifier.algorithm == OID.ecPublicKey, let parameters = identifier.parameters {
                curve = try? ASN1ObjectIdentifier(asn1Any: parameters)
            }
            return Algorithm(algorithm: identifier.algorithm, curve: curve)
        }
    }
}
