import Crypto
import ParapheCore
import ParapheShared
import SwiftASN1
import _CryptoExtras

/// PKCS#5 v2.1 PBES2 (PBKDF2 + AES-CBC) as used in PKCS#8 EncryptedPrivateKeyInfo and PKCS#12 bags.
struct PBES2Parameters: Sendable, Equatable {
    var salt: [UInt8]
    var iterations: Int
    var prf: PBEHash
    /// AES key length in bytes: 16, 24 or 32.
    var keyLength: Int
    var iv: [UInt8]

    /// Fresh parameters for writing: PBKDF2-HMAC-SHA256, 16-byte salt, AES-256-CBC, 16-byte IV.
    static func forWriting(iterations: Int, random: any RandomSource) throws(KeystoreError) -> PBES2Parameters {
        let salt = random.bytes(16)
        let iv = random.bytes(16)
        guard salt.count == 16, iv.count == 16 else {
            throw .cryptoFailure("the random source returned the wrong number of bytes")
        }
        return PBES2Parameters(salt: salt, iterations: iterations, prf: .sha256, keyLength: 32, iv: iv)
    }

    var cipherOID: ASN1ObjectIdentifier {
        switch keyLength {
        case 16: return OID.aes128CBC
        case 24: return OID.aes192CBC
        default: return OID.aes256CBC
        }
    }

    /// The `AlgorithmIdentifier { id-PBES2, PBES2-params }` describing these parameters.
    func algorithmIdentifier() throws(KeystoreError) -> AlgorithmIdentifier {
        try mapError(.cryptoFailure, "could not encode PBES2 parameters") {
            let pbkdf2Params = try ASN1Support.serialize { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.serialize(ASN1OctetString(contentBytes: salt[...]))
                    try coder.serialize(iterations)
                    try coder.serialize(AlgorithmIdentifier.withNull(prf == .sha256 ? OID.hmacWithSHA256 : OID.hmacWithSHA1))
                }
            }
            let kdf = AlgorithmIdentifier(algorithm: OID.pbkdf2, parameters: try ASN1Any(derEncoded: DER.parse(pbkdf2Params)))
            let cipher = AlgorithmIdentifier(algorithm: cipherOID, parameters: try ASN1Any(erasing: ASN1OctetString(contentBytes: iv[...])))
            let pbes2Params = try ASN1Support.serialize { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.serialize(kdf)
                    try coder.serialize(cipher)
                }
            }
            return AlgorithmIdentifier(algorithm: OID.pbes2, parameters: try ASN1Any(derEncoded: DER.parse(pbes2Params)))
        }
    }

    /// Parses and range-checks an encryption AlgorithmIdentifier; legacy PKCS#12 / PBES1 schemes are refused.
    static func parse(_ identifier: AlgorithmIdentifier) throws(KeystoreError) -> PBES2Parameters {
        guard identifier.algorithm == OID.pbes2 else {
            if let legacy = OID.legacyPBEName(identifier.algorithm) {
                throw .unsupportedAlgorithm(
                    "the file is protected with the legacy scheme \(legacy) (RC2/RC4/DES/3DES); re-export it with AES (PBES2 with AES-256-CBC, e.g. `openssl pkcs12 -export` without -legacy)"
                )
            }
            throw .unsupportedAlgorithm("unsupported encryption scheme \(identifier.algorithm); re-export it with PBES2/AES")
        }
        guard let parameters = identifier.parameters else { throw .malformed("PBES2 parameters are missing") }

        let (kdf, scheme) = try mapError(.malformed, "invalid PBES2 parameters") {
            let node = try BER.parse(ASN1Support.serialize { try $0.serialize(parameters) })
            return try BER.sequence(node, identifier: .sequence) { nodes in
                (try AlgorithmIdentifier(berEncoded: &nodes), try AlgorithmIdentifier(berEncoded: &nodes))
            }
        }

        guard kdf.algorithm == OID.pbkdf2 else {
            throw .unsupportedAlgorithm("unsupported PBES2 key-derivation function \(kdf.algorithm) (PBKDF2 only)")
        }
        let keyLength: Int
        switch scheme.algorithm {
        case OID.aes128CBC: keyLength = 16
        case OID.aes192CBC: keyLength = 24
        case OID.aes256CBC: keyLength = 32
        case OID.desEDE3CBC, OID.rc2CBC:
            throw .unsupportedAlgorithm("the key is encrypted with DES/3DES/RC2; re-export it with AES (e.g. AES-256-CBC)")
        default:
            throw .unsupportedAlgorithm("unsupported PBES2 cipher \(scheme.algorithm) (AES-CBC only)")
        }
        guard let ivAny = scheme.parameters,
            let iv = try? ASN1OctetString(asn1Any: ivAny).bytes, iv.count == 16
        else { throw .malformed("the AES-CBC IV is missing or not 16 bytes") }

        guard let kdfParameters = kdf.parameters else { throw .malformed("PBKDF2 parameters are missing") }
        struct RawPBKDF2 {
            var salt: [UInt8]
            var iterations: Int
            var keyLength: Int?
            var prf: AlgorithmIdentifier?
        }
        let raw: RawPBKDF2 = try mapError(.malformed, "invalid PBKDF2 parameters") {
            let node = try BER.parse(ASN1Support.serialize { try $0.serialize(kdfParameters) })
            return try BER.sequence(node, identifier: .sequence) { nodes in
                guard let saltNode = nodes.next() else { throw KeystoreError.malformed("PBKDF2 salt missing") }
                guard saltNode.identifier == .octetString else {
                    throw KeystoreError.unsupportedAlgorithm("PBKDF2 salt from another source is not supported")
                }
                let salt = Array(try ASN1Support.octets(saltNode))
                guard let iterationNode = nodes.next() else { throw KeystoreError.malformed("PBKDF2 iteration count missing") }
                let iterations = try Int(berEncoded: iterationNode)
                var keyLength: Int?
                var prf: AlgorithmIdentifier?
                while let next = nodes.next() {
                    if next.identifier == .integer, keyLength == nil, prf == nil {
                        keyLength = try Int(berEncoded: next)
                    } else if next.identifier == .sequence, prf == nil {
                        prf = try AlgorithmIdentifier(berEncoded: next)
                    } else {
                        throw KeystoreError.malformed("unexpected PBKDF2 parameter")
                    }
                }
                return RawPBKDF2(salt: salt, iterations: iterations, keyLength: keyLength, prf: prf)
            }
        }
        guard (1...KDFCost.maximumIterations).contains(raw.iterations) else {
            throw .malformed("PBKDF2 iteration count \(raw.iterations) is out of range (1...\(KDFCost.maximumIterations))")
        }
        guard (1...1024).contains(raw.salt.count) else { throw .malformed("PBKDF2 salt length is out of range") }
        if let declared = raw.keyLength, declared != keyLength {
            throw .malformed("PBKDF2 key length does not match the cipher")
        }
        let prf: PBEHash
        switch raw.prf?.algorithm {
        case nil, OID.hmacWithSHA1?: prf = .sha1
        case OID.hmacWithSHA256?: prf = .sha256
        case let other?: throw .unsupportedAlgorithm("unsupported PBKDF2 PRF \(other) (hmacWithSHA1 or hmacWithSHA256 only)")
        }
        return PBES2Parameters(salt: raw.salt, iterations: raw.iterations, prf: prf, keyLength: keyLength, iv: Array(iv))
    }

    /// Derives the AES key (PBKDF2 over the UTF-8 password, as OpenSSL does).
    func deriveKey(password: String) throws(KeystoreError) -> SymmetricKey {
        var passwordBytes = Array(password.utf8)
        defer { KeyDerivation.zeroize(&passwordBytes) }
        return try KeyDerivation.pbkdf2(password: passwordBytes, salt: salt, prf: prf, iterations: iterations, keyLength: keyLength)
    }

    /// AES-CBC with PKCS#7 padding.
    func encrypt(_ plaintext: [UInt8], key: SymmetricKey) throws(KeystoreError) -> [UInt8] {
        try mapError(.cryptoFailure, "AES-CBC encryption failed") {
            Array(try AES._CBC.encrypt(plaintext, using: key, iv: AES._CBC.IV(ivBytes: iv)))
        }
    }

    /// AES-CBC decryption; a padding failure means the password is wrong.
    func decrypt(_ ciphertext: ArraySlice<UInt8>, key: SymmetricKey) throws(KeystoreError) -> [UInt8] {
        guard !ciphertext.isEmpty, ciphertext.count % 16 == 0 else {
            throw .malformed("ciphertext length is not a positive multiple of the AES block size")
        }
        let cbcIV = try mapError(.malformed, "invalid IV") { try AES._CBC.IV(ivBytes: iv) }
        return try mapError(.wrongPassword, "decryption failed (wrong password)") {
            Array(try AES._CBC.decrypt(ciphertext, using: key, iv: cbcIV))
        }
    }
}

/// A PKCS#8 EncryptedPrivateKeyInfo: `SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING }`.
struct EncryptedPrivateKeyInfo: Sendable {
    var algorithm: AlgorithmIdentifier
    var encryptedData: [UInt8]

    func serialize(into coder: inout DER.Serializer) throws {
        try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(algorithm)
            try coder.serialize(ASN1OctetString(contentBytes: encryptedData[...]))
        }
    }

    func derBytes() throws(KeystoreError) -> [UInt8] {
        try mapError(.cryptoFailure, "could not encode EncryptedPrivateKeyInfo") {
            try ASN1Support.serialize { try self.serialize(into: &$0) }
        }
    }

    init(algorithm: AlgorithmIdentifier, encryptedData: [UInt8]) {
        self.algorithm = algorithm
        self.encryptedData = encryptedData
    }

    init(node: ASN1Node) throws(KeystoreError) {
        self = try mapError(.malformed, "not a PKCS#8 EncryptedPrivateKeyInfo") {
            try BER.sequence(node, identifier: .sequence) { nodes in
                let algorithm = try AlgorithmIdentifier(berEncoded: &nodes)
                guard let dataNode = nodes.next() else { throw KeystoreError.malformed("encrypted data missing") }
                return EncryptedPrivateKeyInfo(algorithm: algorithm, encryptedData: Array(try ASN1Support.octets(dataNode)))
            }
        }
    }

    /// Encrypts `pkcs8` with an already-derived key.
    static func seal(pkcs8: [UInt8], parameters: PBES2Parameters, key: SymmetricKey) throws(KeystoreError) -> EncryptedPrivateKeyInfo {
        EncryptedPrivateKeyInfo(algorithm: try parameters.algorithmIdentifier(), encryptedData: try parameters.encrypt(pkcs8, key: key))
    }

    /// Decrypts to a key; any failure after the KDF is reported as a wrong password (there is no MAC to tell them apart).
    func open(password: String) throws(KeystoreError) -> SigningKey {
        let parameters = try PBES2Parameters.parse(algorithm)
        let key = try parameters.deriveKey(password: password)
        return try Self.open(encryptedData[...], parameters: parameters, key: key)
    }

    static func open(_ encryptedData: ArraySlice<UInt8>, parameters: PBES2Parameters, key: SymmetricKey) throws(KeystoreError) -> SigningKey {
        var plaintext = try parameters.decrypt(encryptedData, key: key)
        defer { KeyDerivation.zeroize(&plaintext) }
        do throws(KeystoreError) {
            return try SigningKey(pkcs8DER: plaintext)
        } catch  where error.code == .unsupportedAlgorithm {
            throw error
        } catch {
            throw .wrongPassword("decryption produced no valid private key (wrong password)")
        }
    }
}
