import CPKCS11
import Crypto
import Keystore

/// A signing mechanism the module offers, for the key types Paraphe issues (RSA 2048/3072, P-256).
struct Mechanism {
    var type: CK_MECHANISM_TYPE
    var keyType: CertificateFields.KeyType
    /// The hash the module computes over the data (nil: the caller hashed or encoded it).
    var digest: SignatureScheme.Digest?
    var isPSS = false

    static let all: [Mechanism] = [
        Mechanism(type: CKM_RSA_PKCS, keyType: .rsa, digest: nil),
        Mechanism(type: CKM_SHA256_RSA_PKCS, keyType: .rsa, digest: .sha256),
        Mechanism(type: CKM_SHA384_RSA_PKCS, keyType: .rsa, digest: .sha384),
        Mechanism(type: CKM_SHA512_RSA_PKCS, keyType: .rsa, digest: .sha512),
        Mechanism(type: CKM_RSA_PKCS_PSS, keyType: .rsa, digest: nil, isPSS: true),
        Mechanism(type: CKM_SHA256_RSA_PKCS_PSS, keyType: .rsa, digest: .sha256, isPSS: true),
        Mechanism(type: CKM_SHA384_RSA_PKCS_PSS, keyType: .rsa, digest: .sha384, isPSS: true),
        Mechanism(type: CKM_SHA512_RSA_PKCS_PSS, keyType: .rsa, digest: .sha512, isPSS: true),
        Mechanism(type: CKM_ECDSA, keyType: .ec, digest: nil),
        Mechanism(type: CKM_ECDSA_SHA256, keyType: .ec, digest: .sha256),
        Mechanism(type: CKM_ECDSA_SHA384, keyType: .ec, digest: .sha384),
        Mechanism(type: CKM_ECDSA_SHA512, keyType: .ec, digest: .sha512),
    ]

    static func supported(for keyType: CertificateFields.KeyType) -> [Mechanism] {
        all.filter { $0.keyType == keyType }
    }

    /// PKCS#11's name of a hash mechanism, and of its MGF1 generator.
    static func digest(hashMechanism: CK_MECHANISM_TYPE) -> SignatureScheme.Digest? {
        switch hashMechanism {
        case CKM_SHA256: return .sha256
        case CKM_SHA384: return .sha384
        case CKM_SHA512: return .sha512
        default: return nil
        }
    }

    static func digest(generator: CK_RSA_PKCS_MGF_TYPE) -> SignatureScheme.Digest? {
        switch generator {
        case CK_RSA_PKCS_MGF_TYPE(CKG_MGF1_SHA256): return .sha256
        case CK_RSA_PKCS_MGF_TYPE(CKG_MGF1_SHA384): return .sha384
        case CK_RSA_PKCS_MGF_TYPE(CKG_MGF1_SHA512): return .sha512
        default: return nil
        }
    }
}

/// A signature in progress in a session (between C_SignInit and the C_Sign or C_SignFinal that ends it).
struct SignOperation {
    enum Hashing {
        case none([UInt8])
        case sha256(SHA256)
        case sha384(SHA384)
        case sha512(SHA512)
    }

    /// Longest input of a mechanism without hashing (a DigestInfo or a hash; more is never a valid input).
    static let maximumRawInput = 512

    var token: Int
    var mechanism: Mechanism
    /// For the PSS mechanisms: the hash, MGF1 hash and salt length the caller's parameters give.
    var pss: (hash: SignatureScheme.Digest, mgf: SignatureScheme.Digest, saltLength: Int)?
    var hashing: Hashing
    /// Whether C_SignUpdate was called (then only C_SignFinal may end it).
    var multipart = false

    init(token: Int, mechanism: Mechanism, pss: (hash: SignatureScheme.Digest, mgf: SignatureScheme.Digest, saltLength: Int)?) {
        self.token = token
        self.mechanism = mechanism
        self.pss = pss
        switch mechanism.digest {
        case nil: hashing = .none([])
        case .sha256?: hashing = .sha256(SHA256())
        case .sha384?: hashing = .sha384(SHA384())
        case .sha512?: hashing = .sha512(SHA512())
        }
    }

    /// Adds data; false when an unhashed input grows past any valid length.
    mutating func update(_ data: UnsafeRawBufferPointer) -> Bool {
        switch hashing {
        case .none(var bytes):
            guard bytes.count + data.count <= Self.maximumRawInput else { return false }
            bytes.append(contentsOf: data)
            hashing = .none(bytes)
        case .sha256(var hasher):
            hasher.update(bufferPointer: data)
            hashing = .sha256(hasher)
        case .sha384(var hasher):
            hasher.update(bufferPointer: data)
            hashing = .sha384(hasher)
        case .sha512(var hasher):
            hasher.update(bufferPointer: data)
            hashing = .sha512(hasher)
        }
        return true
    }

    /// The input of the signature (the hash, or the caller's bytes), and the scheme to sign it with.
    func finish() -> (input: [UInt8], scheme: SignatureScheme) {
        let input: [UInt8]
        switch hashing {
        case .none(let bytes): input = bytes
        case .sha256(let hasher): input = Array(hasher.finalize())
        case .sha384(let hasher): input = Array(hasher.finalize())
        case .sha512(let hasher): input = Array(hasher.finalize())
        }
        if mechanism.keyType == .ec { return (input, .ecdsa) }
        if let pss { return (input, .rsaPSS(hash: pss.hash, mgf: pss.mgf, saltLength: pss.saltLength)) }
        if let digest = mechanism.digest { return (input, .rsaPKCS1(digest)) }
        return (input, .rsaPKCS1Encoded)
    }
}
