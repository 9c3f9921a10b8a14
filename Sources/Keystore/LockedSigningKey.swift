import CBlindedRSA
import COpenSSLCrypto
import Crypto
import ParapheCore
import Synchronization
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// Anonymous pages for a secret: locked in RAM (never swapped out), left out of core dumps, read as zeros by a
/// forked child (the kernel wipes them in the child), and zeroed before they are given back.
final class LockedPages {
    let base: UnsafeMutableRawPointer
    let size: Int

    /// `madvise` advice values from <linux/mman.h> (not all exported by Glibc's module).
    private static let doNotDump: Int32 = 16  // MADV_DONTDUMP
    private static let wipeOnFork: Int32 = 18  // MADV_WIPEONFORK (Linux 4.14)

    init(minimumSize: Int) throws(KeystoreError) {
        let page = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
        size = max(page, (minimumSize + page - 1) / page * page)
        guard let pointer = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            pointer != UnsafeMutableRawPointer(bitPattern: -1)
        else { throw KeystoreError(.cryptoFailure, "no memory could be mapped for the key") }
        guard mlock(pointer, size) == 0 else {
            munmap(pointer, size)
            throw KeystoreError(.cryptoFailure, "the key's memory could not be locked (the process's RLIMIT_MEMLOCK is too low)")
        }
        guard madvise(pointer, size, Self.doNotDump) == 0, madvise(pointer, size, Self.wipeOnFork) == 0 else {
            munlock(pointer, size)
            munmap(pointer, size)
            throw KeystoreError(.cryptoFailure, "the key's memory could not be kept out of core dumps and forked children")
        }
        base = pointer
    }

    /// Zeroes every byte (a write the compiler may not elide).
    func wipe() {
        explicit_bzero(base, size)
    }

    deinit {
        explicit_bzero(base, size)
        munlock(base, size)
        munmap(base, size)
    }
}

/// A signature scheme of the security provider, over input the caller has already hashed (or encoded).
public enum SignatureScheme: Sendable, Equatable {
    /// The hash functions a scheme names.
    public enum Digest: Sendable, Equatable, CaseIterable {
        case sha256, sha384, sha512

        /// Length of the hash in bytes.
        public var length: Int {
            switch self {
            case .sha256: return 32
            case .sha384: return 48
            case .sha512: return 64
            }
        }

        var message: OpaquePointer? {
            switch self {
            case .sha256: return EVP_sha256()
            case .sha384: return EVP_sha384()
            case .sha512: return EVP_sha512()
            }
        }
    }

    /// RSASSA-PKCS1-v1_5 over the input as given (a DigestInfo the caller encoded: PKCS#11's `CKM_RSA_PKCS`).
    case rsaPKCS1Encoded
    /// RSASSA-PKCS1-v1_5 over a hash of the given kind (the DigestInfo is encoded here).
    case rsaPKCS1(Digest)
    /// RSASSA-PSS over a hash of `hash`, with MGF1 over `mgf` and `saltLength` bytes of salt.
    case rsaPSS(hash: Digest, mgf: Digest, saltLength: Int)
    /// ECDSA over a hash (of any length); the signature is r‖s, each as long as the curve's order.
    case ecdsa
}

/// A private key kept for signing in locked memory (`LockedPages`), as its PKCS#8 encoding: the security
/// provider's key while the person is logged in to their profile.
///
/// Each signature parses the key from the locked pages into an OpenSSL key, signs, and frees it at once (OpenSSL
/// cleanses key numbers as it frees them), so no copy of the key outlives the call in ordinary memory. `wipe()`
/// zeroes the pages for good (the log-out); so does the last release. An RSA key's signatures share one blinding
/// (`RSABlinding`), made at the log-in from the public key.
public final class LockedSigningKey: @unchecked Sendable {
    private let pages: LockedPages
    private let length: Int
    /// The key's algorithm.
    public let algorithm: KeyAlgorithm
    /// For an RSA key: where its numbers lie in the pages, and the blinding of its signatures.
    private let rsa: (numbers: LockedDER.RSANumbers, blinding: RSABlinding)?

    private init(pages: LockedPages, length: Int, algorithm: KeyAlgorithm, rsa: (numbers: LockedDER.RSANumbers, blinding: RSABlinding)? = nil) {
        self.pages = pages
        self.length = length
        self.algorithm = algorithm
        self.rsa = rsa
    }

    /// Decrypts an encrypted key bag (AES-CBC, PBES2) straight into locked pages and checks it is a key Paraphe
    /// supports.
    ///
    /// A padding or parse failure is a wrong password, as in `EncryptedPrivateKeyInfo.open`.
    static func decrypt(_ ciphertext: ArraySlice<UInt8>, parameters: PBES2Parameters, key: SymmetricKey) throws(KeystoreError) -> LockedSigningKey {
        guard !ciphertext.isEmpty, ciphertext.count % 16 == 0, ciphertext.count <= PKCS12.maximumFileSize else {
            throw .malformed("ciphertext length is not a positive multiple of the AES block size")
        }
        guard parameters.iv.count == 16, key.bitCount / 8 == parameters.keyLength else { throw .malformed("invalid AES-CBC parameters") }
        let cipher: OpaquePointer?
        switch parameters.keyLength {
        case 16: cipher = EVP_aes_128_cbc()
        case 24: cipher = EVP_aes_192_cbc()
        default: cipher = EVP_aes_256_cbc()
        }
        let pages = try LockedPages(minimumSize: ciphertext.count + 16)
        guard let context = EVP_CIPHER_CTX_new() else { throw .cryptoFailure("no cipher context") }
        defer { EVP_CIPHER_CTX_free(context) }  // cleanses the AES key schedule
        let mark = ERR_set_mark()
        defer { if mark == 1 { ERR_pop_to_mark() } }
        let output = pages.base.assumingMemoryBound(to: UInt8.self)
        let plaintextLength: Int? = key.withUnsafeBytes { keyBytes in
            parameters.iv.withUnsafeBufferPointer { iv in
                ciphertext.withUnsafeBufferPointer { input -> Int? in
                    var written: Int32 = 0
                    var last: Int32 = 0
                    guard EVP_DecryptInit_ex(context, cipher, nil, keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), iv.baseAddress) == 1,
                        EVP_DecryptUpdate(context, output, &written, input.baseAddress, Int32(input.count)) == 1,
                        EVP_DecryptFinal_ex(context, output + Int(written), &last) == 1
                    else { return nil }
                    return Int(written) + Int(last)
                }
            }
        }
        guard let plaintextLength, plaintextLength > 0 else {
            throw .wrongPassword("decryption failed (wrong password)")
        }
        let provisional = LockedSigningKey(pages: pages, length: plaintextLength, algorithm: .rsa2048)
        let algorithm: KeyAlgorithm
        do throws(KeystoreError) {
            algorithm = try provisional.withOpenSSLKey { (key) throws(KeystoreError) -> KeyAlgorithm in
                let bits = EVP_PKEY_get_bits(key)
                if EVP_PKEY_is_a(key, "RSA") == 1 {
                    switch bits {
                    case 2048: return .rsa2048
                    case 3072: return .rsa3072
                    default: throw .unsupportedAlgorithm("RSA keys of \(bits) bits are not supported (2048 or 3072 only)")
                    }
                }
                var name = [CChar](repeating: 0, count: 64)
                var nameLength = 0
                if EVP_PKEY_is_a(key, "EC") == 1, EVP_PKEY_get_group_name(key, &name, name.count, &nameLength) == 1,
                    String(decoding: name.prefix(nameLength).map { UInt8(bitPattern: $0) }, as: UTF8.self) == "prime256v1"
                {
                    return .p256
                }
                throw .unsupportedAlgorithm("only RSA (2048 or 3072 bits) and P-256 keys are supported")
            }
        } catch  where error.code == .unsupportedAlgorithm {
            throw error
        } catch {
            throw .wrongPassword("decryption produced no valid private key (wrong password)")
        }
        guard algorithm != .p256 else { return LockedSigningKey(pages: pages, length: plaintextLength, algorithm: algorithm) }
        let bytes = UnsafeRawBufferPointer(start: pages.base, count: plaintextLength).bindMemory(to: UInt8.self)
        guard let numbers = LockedDER.rsaNumbers(bytes), let blinding = RSABlinding(bytes, numbers) else {
            throw .cryptoFailure("the RSA key's signatures could not be prepared")
        }
        return LockedSigningKey(pages: pages, length: plaintextLength, algorithm: algorithm, rsa: (numbers, blinding))
    }

    /// Runs `body` with the key as an OpenSSL `EVP_PKEY`, freed (and so cleansed) on return.
    ///
    /// OpenSSL's error queue is left as the host had it.
    ///
    /// The key's numbers are read from the locked PKCS#8 bytes in place (`LockedDER`) into BIGNUMs OpenSSL clears as
    /// it frees them, and the key is built from them (`EVP_PKEY_fromdata`). Not `d2i_AutoPrivateKey`: its decoder
    /// copies the whole encoding into a buffer it frees without clearing, which left the key's bytes in the heap
    /// (the memory scan of the provider's tests found them).
    private func withOpenSSLKey<T>(_ body: (OpaquePointer) throws(KeystoreError) -> T) throws(KeystoreError) -> T {
        let mark = ERR_set_mark()
        defer { if mark == 1 { ERR_pop_to_mark() } }
        let bytes = UnsafeRawBufferPointer(start: pages.base, count: length).bindMemory(to: UInt8.self)
        guard let key = LockedDER.privateKey(bytes) else { throw .malformed("the key in memory is not a PKCS#8 private key") }
        defer { EVP_PKEY_free(key) }
        return try body(key)
    }

    /// True when `certificateDER` carries this key's public key.
    public func matches(certificateDER: [UInt8]) throws(KeystoreError) -> Bool {
        try withOpenSSLKey { (key) throws(KeystoreError) -> Bool in
            try certificateDER.withUnsafeBufferPointer { (buffer) throws(KeystoreError) -> Bool in
                var cursor = buffer.baseAddress
                guard let certificate = d2i_X509(nil, &cursor, buffer.count) else { throw .malformed("not an X.509 certificate") }
                defer { X509_free(certificate) }
                guard let publicKey = X509_get0_pubkey(certificate) else { return false }
                return EVP_PKEY_eq(publicKey, key) == 1
            }
        }
    }

    /// Signs `input` (a hash, or for `rsaPKCS1Encoded` a DigestInfo) with `scheme`.
    ///
    /// Throws `invalidInput` for a scheme of another key type or an input of the wrong length.
    public func sign(_ input: [UInt8], scheme: SignatureScheme) throws(KeystoreError) -> [UInt8] {
        switch (scheme, algorithm) {
        case (.ecdsa, .p256): break
        case (.ecdsa, _), (_, .p256): throw .invalidInput("the scheme is not for this key's type")
        case (.rsaPKCS1(let digest), _), (.rsaPSS(let digest, _, _), _):
            guard input.count == digest.length else { throw .invalidInput("the input is not a hash of the scheme's length") }
        case (.rsaPKCS1Encoded, _):
            guard !input.isEmpty, input.count <= modulusLength - 11 else { throw .invalidInput("the input is too long for the key") }
        }
        if case .ecdsa = scheme, input.isEmpty || input.count > 64 { throw .invalidInput("the input is not a hash") }
        if case .rsaPSS(let hash, _, let salt) = scheme, salt < 0 || salt > modulusLength - hash.length - 2 {
            throw .invalidInput("the salt length does not fit the key")
        }
        if let rsa { return try signRSA(input, scheme: scheme, numbers: rsa.numbers, blinding: rsa.blinding) }
        // ECDSA: OpenSSL's own, on a key built for this signature.
        return try withOpenSSLKey { (key) throws(KeystoreError) -> [UInt8] in
            guard let context = EVP_PKEY_CTX_new(key, nil) else { throw .cryptoFailure("no signing context") }
            defer { EVP_PKEY_CTX_free(context) }
            var signatureLength = 0
            guard EVP_PKEY_sign_init(context) == 1, EVP_PKEY_sign(context, nil, &signatureLength, input, input.count) == 1, signatureLength > 0 else {
                throw .cryptoFailure("signing failed")
            }
            var signature = [UInt8](repeating: 0, count: signatureLength)
            guard EVP_PKEY_sign(context, &signature, &signatureLength, input, input.count) == 1 else { throw .cryptoFailure("signing failed") }
            signature.removeLast(signature.count - signatureLength)
            return try Self.rawECDSA(signature, half: 32)
        }
    }

    /// An RSA signature: the key's numbers read from the pages where they lie, the blinding shared (under its lock).
    private func signRSA(_ input: [UInt8], scheme: SignatureScheme, numbers: LockedDER.RSANumbers, blinding: RSABlinding) throws(KeystoreError)
        -> [UInt8]
    {
        let (padding, hash, mgf, salt): (Int32, OpaquePointer?, OpaquePointer?, Int32)
        switch scheme {
        case .rsaPKCS1Encoded: (padding, hash, mgf, salt) = (Int32(PARAPHE_RSA_PKCS1_ENCODED), nil, nil, 0)
        case .rsaPKCS1(let digest): (padding, hash, mgf, salt) = (Int32(PARAPHE_RSA_PKCS1), digest.message, nil, 0)
        case .rsaPSS(let digest, let mask, let saltLength):
            (padding, hash, mgf, salt) = (Int32(PARAPHE_RSA_PSS), digest.message, mask.message, Int32(saltLength))
        case .ecdsa: throw .invalidInput("the scheme is not for this key's type")
        }
        let mark = ERR_set_mark()
        defer { if mark == 1 { ERR_pop_to_mark() } }
        let base = pages.base.assumingMemoryBound(to: UInt8.self)
        func number(_ range: Range<Int>) -> paraphe_rsa_number { paraphe_rsa_number(bytes: base + range.lowerBound, length: range.count) }
        var key = paraphe_rsa_key(
            n: number(numbers.n), e: number(numbers.e), d: number(numbers.d), p: number(numbers.p), q: number(numbers.q),
            dp: number(numbers.dp), dq: number(numbers.dq), qinv: number(numbers.qinv))
        var signature = [UInt8](repeating: 0, count: modulusLength)
        let signed = blinding.lock.withLock { _ in
            paraphe_rsa_sign(blinding.pointer, &key, padding, hash, mgf, salt, input, input.count, &signature, signature.count)
        }
        guard signed == 1 else { throw .cryptoFailure("signing failed") }
        return signature
    }

    /// Length of the RSA modulus in bytes (the signature's length), 64 for P-256 (r‖s).
    public var modulusLength: Int {
        switch algorithm {
        case .rsa2048: return 256
        case .rsa3072: return 384
        case .p256: return 64
        }
    }

    /// Zeroes the key now; every later signature fails.
    public func wipe() {
        pages.wipe()
    }

    /// ECDSA-Sig-Value (DER) to r‖s, each left-padded to `half` bytes.
    private static func rawECDSA(_ der: [UInt8], half: Int) throws(KeystoreError) -> [UInt8] {
        var raw = [UInt8](repeating: 0, count: 2 * half)
        let converted = der.withUnsafeBufferPointer { buffer -> Bool in
            var cursor = buffer.baseAddress
            guard let signature = d2i_ECDSA_SIG(nil, &cursor, buffer.count) else { return false }
            defer { ECDSA_SIG_free(signature) }
            var r: OpaquePointer?
            var s: OpaquePointer?
            ECDSA_SIG_get0(signature, &r, &s)
            return raw.withUnsafeMutableBufferPointer { out in
                guard let base = out.baseAddress else { return false }
                return BN_bn2binpad(r, base, Int32(half)) == Int32(half) && BN_bn2binpad(s, base + half, Int32(half)) == Int32(half)
            }
        }
        guard converted else { throw .cryptoFailure("the ECDSA signature could not be converted") }
        return raw
    }
}

/// What the security provider holds while a profile is logged in to: the key in locked memory, its certificate
/// and the CA chain (issuer first).
public struct LockedProfileContents: Sendable {
    /// The private key, in locked memory.
    public let key: LockedSigningKey
    /// The certificate of `key`.
    public let certificate: Certificate
    /// The CA certificates, issuer first.
    public let chain: [Certificate]
    /// The friendlyName the file gives the key, if any.
    public let friendlyName: String?

    /// The certificate's DER encoding.
    public func certificateDER() throws(KeystoreError) -> [UInt8] { try PKCS12.certificateDER(certificate) }
}

/// Reads a PKCS#8 PrivateKeyInfo (RSA, or EC on P-256) where it lies, in locked memory, into an OpenSSL key: a DER
/// walk that copies nothing but the numbers, each straight into a BIGNUM flagged secure (cleared when freed).
enum LockedDER {
    private static let rsaEncryption: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
    private static let ecPublicKey: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
    private static let prime256v1: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]

    /// A DER element: its tag and where its contents are.
    struct Element {
        var tag: UInt8
        var contents: Range<Int>
    }

    /// The elements of `range` in order (nil if the encoding is not well formed DER lengths).
    static func elements(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [Element]? {
        var result: [Element] = []
        var offset = range.lowerBound
        while offset < range.upperBound {
            guard range.upperBound - offset >= 2, result.count < 32 else { return nil }
            let tag = bytes[offset]
            var length = Int(bytes[offset + 1])
            offset += 2
            if length & 0x80 != 0 {
                let count = length & 0x7F
                guard (1...3).contains(count), range.upperBound - offset >= count else { return nil }
                length = 0
                for _ in 0..<count {
                    length = length << 8 | Int(bytes[offset])
                    offset += 1
                }
            }
            guard length <= range.upperBound - offset else { return nil }
            result.append(Element(tag: tag, contents: offset..<offset + length))
            offset += length
        }
        return result
    }

    /// Where an RSA key's numbers lie (RFC 8017 A.1.2, two primes): offsets, not the numbers.
    struct RSANumbers {
        var n, e, d, p, q, dp, dq, qinv: Range<Int>
    }

    /// The outer PrivateKeyInfo: the algorithm's elements and the private key's OCTET STRING.
    private static func privateKeyInfo(_ bytes: UnsafeBufferPointer<UInt8>) -> (algorithm: [Element], key: Element)? {
        guard let outer = elements(bytes, 0..<bytes.count), outer.count == 1, outer[0].tag == 0x30,
            let info = elements(bytes, outer[0].contents), info.count >= 3, info[0].tag == 0x02, info[1].tag == 0x30, info[2].tag == 0x04,
            let algorithm = elements(bytes, info[1].contents), let oid = algorithm.first, oid.tag == 0x06
        else { return nil }
        return (algorithm, info[2])
    }

    /// The numbers of an RSA PrivateKeyInfo; nil for any other key or encoding.
    static func rsaNumbers(_ bytes: UnsafeBufferPointer<UInt8>) -> RSANumbers? {
        guard let (algorithm, key) = privateKeyInfo(bytes), Array(bytes[algorithm[0].contents]) == rsaEncryption,
            let sequence = elements(bytes, key.contents), sequence.count == 1, sequence[0].tag == 0x30,
            let numbers = elements(bytes, sequence[0].contents), numbers.count == 9, numbers.allSatisfy({ $0.tag == 0x02 && !$0.contents.isEmpty })
        else { return nil }
        let ranges = numbers.map(\.contents)
        return RSANumbers(n: ranges[1], e: ranges[2], d: ranges[3], p: ranges[4], q: ranges[5], dp: ranges[6], dq: ranges[7], qinv: ranges[8])
    }

    static func privateKey(_ bytes: UnsafeBufferPointer<UInt8>) -> OpaquePointer? {
        guard let (algorithm, key) = privateKeyInfo(bytes) else { return nil }
        let algorithmOID = Array(bytes[algorithm[0].contents])
        if algorithmOID == rsaEncryption {
            guard let numbers = rsaNumbers(bytes) else { return nil }
            let values: [(name: String, range: Range<Int>, secret: Bool)] = [
                ("n", numbers.n, false), ("e", numbers.e, false), ("d", numbers.d, true), ("rsa-factor1", numbers.p, true),
                ("rsa-factor2", numbers.q, true), ("rsa-exponent1", numbers.dp, true), ("rsa-exponent2", numbers.dq, true),
                ("rsa-coefficient1", numbers.qinv, true),
            ]
            return build("1.2.840.113549.1.1.1", bytes, numbers: values, strings: [], octets: [])
        }
        guard algorithmOID == ecPublicKey, algorithm.count == 2, algorithm[1].tag == 0x06, Array(bytes[algorithm[1].contents]) == prime256v1,
            let sequence = elements(bytes, key.contents), sequence.count == 1, sequence[0].tag == 0x30,
            let fields = elements(bytes, sequence[0].contents), fields.count >= 2, fields[0].tag == 0x02, fields[1].tag == 0x04,
            fields[1].contents.count == 32
        else { return nil }
        var octets: [(name: String, range: Range<Int>)] = []
        // [1] publicKey: BIT STRING (unused-bits byte, then the point).
        if let explicit = fields.dropFirst(2).first(where: { $0.tag == 0xA1 }), let bitString = elements(bytes, explicit.contents),
            bitString.count == 1, bitString[0].tag == 0x03, bitString[0].contents.count > 1
        {
            octets.append(("pub", bitString[0].contents.dropFirst()))
        }
        return build(
            "1.2.840.10045.2.1", bytes, numbers: [(name: "priv", range: fields[1].contents, secret: true)], strings: [("group", "prime256v1")],
            octets: octets)
    }

    /// `type`: the key management's name as its OID, not "RSA" or "EC": OpenSSL looks a short name up among the legacy
    /// key methods first, where a host's ENGINE registered as the default (the `openssl -engine pkcs11` host, for one)
    /// would take it over — and an engine context cannot import.
    ///
    /// The OID is a name only the providers know.
    private static func build(
        _ type: String, _ bytes: UnsafeBufferPointer<UInt8>, numbers: [(name: String, range: Range<Int>, secret: Bool)],
        strings: [(String, String)], octets: [(name: String, range: Range<Int>)]
    ) -> OpaquePointer? {
        guard let builder = OSSL_PARAM_BLD_new() else { return nil }
        defer { OSSL_PARAM_BLD_free(builder) }
        // The builder keeps the pointers it is given (names, strings) until the parameters are built and freed: C strings
        // of our own, not Swift's temporary ones.
        var names: [UnsafeMutablePointer<CChar>] = []
        defer {
            for name in names { free(name) }
        }
        func name(_ text: String) -> UnsafeMutablePointer<CChar>? {
            guard let copy = strdup(text) else { return nil }
            names.append(copy)
            return copy
        }
        var bignums: [OpaquePointer] = []
        defer {
            for bignum in bignums { BN_clear_free(bignum) }
        }
        guard let base = bytes.baseAddress else { return nil }
        for number in numbers {
            guard let bignum = number.secret ? BN_secure_new() : BN_new() else { return nil }
            bignums.append(bignum)
            guard BN_bin2bn(base + number.range.lowerBound, Int32(number.range.count), bignum) != nil,
                let key = name(number.name), OSSL_PARAM_BLD_push_BN(builder, key, bignum) == 1
            else { return nil }
        }
        for (label, value) in strings {
            guard let key = name(label), let copy = name(value), OSSL_PARAM_BLD_push_utf8_string(builder, key, copy, 0) == 1 else { return nil }
        }
        for octet in octets {
            guard let key = name(octet.name), OSSL_PARAM_BLD_push_octet_string(builder, key, base + octet.range.lowerBound, octet.range.count) == 1
            else { return nil }
        }
        guard let parameters = OSSL_PARAM_BLD_to_param(builder) else { return nil }
        defer { OSSL_PARAM_free(parameters) }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { return nil }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_fromdata_init(context) == 1, EVP_PKEY_fromdata(context, &key, paraphe_evp_pkey_keypair, parameters) == 1 else {
            return nil
        }
        return key
    }
}

/// The blinding of one log-in's RSA signatures (`CBlindedRSA`): made from the public key, used under its lock.
final class RSABlinding: @unchecked Sendable {
    let pointer: OpaquePointer
    let lock = Mutex(())

    init?(_ bytes: UnsafeBufferPointer<UInt8>, _ numbers: LockedDER.RSANumbers) {
        guard let base = bytes.baseAddress,
            let pointer = paraphe_rsa_blinding_new(
                paraphe_rsa_number(bytes: base + numbers.n.lowerBound, length: numbers.n.count),
                paraphe_rsa_number(bytes: base + numbers.e.lowerBound, length: numbers.e.count))
        else { return nil }
        self.pointer = pointer
    }

    deinit { paraphe_rsa_blinding_free(pointer) }
}
