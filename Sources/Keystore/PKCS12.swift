import Crypto
import ParapheCore
import ParapheShared
import SwiftASN1
import X509
import _CryptoExtras

/// What a PKCS#12 file holds for Paraphe: one key, its certificate and the CA chain.
public struct PKCS12Contents: Sendable {
    /// The private key.
    public var key: SigningKey
    /// The end-entity certificate for `key`.
    public var certificate: Certificate
    /// CA certificates (issuer first), excluding `certificate`.
    public var chain: [Certificate]
    /// Optional label stored as the friendlyName attribute.
    public var friendlyName: String?

    /// Creates the contents of a PKCS#12 file.
    public init(key: SigningKey, certificate: Certificate, chain: [Certificate] = [], friendlyName: String? = nil) {
        self.key = key
        self.certificate = certificate
        self.chain = chain
        self.friendlyName = friendlyName
    }
}

/// PKCS#12 (RFC 7292) writer and reader: PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC bags and an HMAC-SHA256 MAC, readable by OpenSSL 3 without -legacy.
public enum PKCS12 {
    /// Largest PKCS#12 file accepted by `read`.
    public static let maximumFileSize = 1 << 20

    /// Most encrypted items (encrypted content infos + shrouded key bags) a file may contain.
    static let maximumEncryptedItems = 8
    /// Most bags a file may contain.
    static let maximumBags = 64

    // MARK: Writing

    /// Serializes `contents` as a DER PKCS#12 PFX protected by `password` (UTF-8 for PBES2, BMPString for the MAC KDF).
    public static func write(
        _ contents: PKCS12Contents,
        password: String,
        cost: KDFCost = .standard,
        random: any RandomSource = SystemRandomSource()
    ) throws(KeystoreError) -> [UInt8] {
        let keys = try ProfileKeys.derive(password: password, cost: cost, random: random)
        return try encode(contents, keys: keys, random: random, requireMatchingKey: true)
    }

    /// `write` with keys derived beforehand (`ProfileKeys.derive`, for the password the file is to open with).
    public static func write(_ contents: PKCS12Contents, keys: ProfileKeys, random: any RandomSource = SystemRandomSource()) throws(KeystoreError)
        -> [UInt8]
    {
        try encode(contents, keys: keys, random: random, requireMatchingKey: true)
    }

    /// `write` without the key/certificate consistency check (tests build deliberately broken files with it).
    static func encode(
        _ contents: PKCS12Contents,
        password: String,
        cost: KDFCost,
        random: any RandomSource,
        requireMatchingKey: Bool
    ) throws(KeystoreError) -> [UInt8] {
        try encode(
            contents, keys: ProfileKeys.derive(password: password, cost: cost, random: random), random: random, requireMatchingKey: requireMatchingKey
        )
    }

    static func encode(
        _ contents: PKCS12Contents,
        keys profileKeys: ProfileKeys,
        random: any RandomSource,
        requireMatchingKey: Bool
    ) throws(KeystoreError) -> [UInt8] {
        let iterations = try KDFCost(iterations: profileKeys.iterations).validatedForWriting()
        if requireMatchingKey, !contents.key.matches(contents.certificate) {
            throw .keyMismatch("the private key does not belong to the certificate")
        }

        let leafDER = try certificateDER(contents.certificate)
        let chainDER = try contents.chain.map { (certificate) throws(KeystoreError) -> [UInt8] in try certificateDER(certificate) }
        let localKeyID = Array(SHA256.hash(data: leafDER))
        var pkcs8 = try contents.key.pkcs8DER()
        defer { KeyDerivation.zeroize(&pkcs8) }

        // The two bags share one PBKDF2 salt (each has its own IV): one derivation serves both. It costs an attacker
        // nothing — a password guess is tested against whichever single derivation is cheapest, and each one runs the
        // full count — and it halves the work of writing and of logging in. The MAC key (RFC 7292 App. B, full count,
        // its own salt) and the bags' key are independent — neither is derived from or reused for the other; both come
        // from ProfileKeys, through ProfileKDF, the derivations every profile operation shares.
        let ivs = (random.bytes(16), random.bytes(16))
        guard ivs.0.count == 16, ivs.1.count == 16 else { throw .cryptoFailure("the random source returned the wrong number of bytes") }
        let keyParameters = PBES2Parameters(salt: profileKeys.bag.salt, iterations: iterations, prf: .sha256, keyLength: 32, iv: ivs.0)
        var certParameters = keyParameters
        certParameters.iv = ivs.1
        let macSalt = profileKeys.macSalt
        let keys = [profileKeys.macKey, profileKeys.bag.key, profileKeys.bag.key]

        return try mapError(.cryptoFailure, "could not encode the PKCS#12 structure") {
            let attributes = try bagAttributes(friendlyName: contents.friendlyName, localKeyID: localKeyID)

            // SafeContents with the certificate bags (leaf first), encrypted as EncryptedData.
            let certSafeContents = try ASN1Support.serialize { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try serializeCertBag(leafDER, attributes: attributes, into: &coder)
                    for der in chainDER {
                        try serializeCertBag(der, attributes: [], into: &coder)
                    }
                }
            }
            let encryptedCerts = try certParameters.encrypt(certSafeContents, key: keys[1])
            let certAlgorithm = try certParameters.algorithmIdentifier()

            // SafeContents with the shrouded key bag, in plain Data.
            let shrouded = try EncryptedPrivateKeyInfo.seal(pkcs8: pkcs8, parameters: keyParameters, key: keys[2])
            let keySafeContents = try ASN1Support.serialize { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.appendConstructedNode(identifier: .sequence) { coder in
                        try coder.serialize(OID.pkcs8ShroudedKeyBag)
                        try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
                            try shrouded.serialize(into: &coder)
                        }
                        try serializeAttributes(attributes, into: &coder)
                    }
                }
            }

            let authenticatedSafe = try ASN1Support.serialize { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    // ContentInfo { encryptedData, EncryptedData }
                    try coder.appendConstructedNode(identifier: .sequence) { coder in
                        try coder.serialize(OID.encryptedData)
                        try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
                            try coder.appendConstructedNode(identifier: .sequence) { coder in
                                try coder.serialize(0)
                                try coder.appendConstructedNode(identifier: .sequence) { coder in
                                    try coder.serialize(OID.data)
                                    try coder.serialize(certAlgorithm)
                                    coder.appendPrimitiveNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) {
                                        $0.append(contentsOf: encryptedCerts)
                                    }
                                }
                            }
                        }
                    }
                    // ContentInfo { data, OCTET STRING(SafeContents) }
                    try serializeDataContentInfo(keySafeContents, into: &coder)
                }
            }

            let mac = Array(HMAC<SHA256>.authenticationCode(for: authenticatedSafe, using: keys[0]))

            return try ASN1Support.serialize { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.serialize(3)
                    try serializeDataContentInfo(authenticatedSafe, into: &coder)
                    // MacData { DigestInfo { sha256, mac }, salt, iterations }
                    try coder.appendConstructedNode(identifier: .sequence) { coder in
                        try coder.appendConstructedNode(identifier: .sequence) { coder in
                            try coder.serialize(AlgorithmIdentifier.withNull(OID.sha256))
                            try coder.serialize(ASN1OctetString(contentBytes: mac[...]))
                        }
                        try coder.serialize(ASN1OctetString(contentBytes: macSalt[...]))
                        try coder.serialize(iterations)
                    }
                }
            }
        }
    }

    static func certificateDER(_ certificate: Certificate) throws(KeystoreError) -> [UInt8] {
        try mapError(.malformed, "could not serialize a certificate") {
            try ASN1Support.serialize { try $0.serialize(certificate) }
        }
    }

    /// Pre-serialized PKCS12Attribute elements, in DER SET OF order.
    private static func bagAttributes(friendlyName: String?, localKeyID: [UInt8]) throws -> [[UInt8]] {
        var attributes: [[UInt8]] = []
        if let friendlyName {
            attributes.append(
                try ASN1Support.serialize { coder in
                    try coder.appendConstructedNode(identifier: .sequence) { coder in
                        try coder.serialize(OID.friendlyName)
                        coder.appendConstructedNode(identifier: .set) { coder in
                            coder.appendPrimitiveNode(identifier: .bmpString) { $0.append(contentsOf: ASN1Support.bmpBytes(friendlyName)) }
                        }
                    }
                })
        }
        attributes.append(
            try ASN1Support.serialize { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.serialize(OID.localKeyID)
                    try coder.appendConstructedNode(identifier: .set) { coder in
                        try coder.serialize(ASN1OctetString(contentBytes: localKeyID[...]))
                    }
                }
            })
        return attributes.sorted(by: ASN1Support.setOrder)
    }

    private static func serializeAttributes(_ attributes: [[UInt8]], into coder: inout DER.Serializer) throws {
        guard !attributes.isEmpty else { return }
        coder.appendConstructedNode(identifier: .set) { coder in
            for attribute in attributes { coder.serializeRawBytes(attribute) }
        }
    }

    private static func serializeCertBag(_ der: [UInt8], attributes: [[UInt8]], into coder: inout DER.Serializer) throws {
        try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(OID.certBag)
            try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.serialize(OID.x509Certificate)
                    try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
                        try coder.serialize(ASN1OctetString(contentBytes: der[...]))
                    }
                }
            }
            try serializeAttributes(attributes, into: &coder)
        }
    }

    private static func serializeDataContentInfo(_ content: [UInt8], into coder: inout DER.Serializer) throws {
        try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(OID.data)
            try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
                try coder.serialize(ASN1OctetString(contentBytes: content[...]))
            }
        }
    }

    // MARK: Reading

    /// Parses a PKCS#12 file: verifies the MAC first (a wrong password fails here, before anything is decrypted), then decrypts the bags.
    ///
    /// Reads files from `write` and from `openssl pkcs12 -export` (PBES2 with AES-128/192/256-CBC and PBKDF2 hmacWithSHA1/SHA256,
    /// MAC with SHA-1/SHA-256, encrypted or plain bags). Legacy RC2/3DES files throw `unsupportedAlgorithm`.
    ///
    /// The bag keys are derived concurrently with the MAC key, but nothing is decrypted and no error about the bags is
    /// reported until the MAC has verified.
    ///
    /// `known`: the keys this process wrote a profile with (`write(_:keys:)`); a derivation whose every input matches
    /// one of them (password, salt, count, algorithm) is taken from there instead of being run again.
    public static func read(_ der: [UInt8], password: String, known: ProfileKeys? = nil) throws(KeystoreError) -> PKCS12Contents {
        let opened = try open(der, password: password, known: known, serially: false, lockingKey: false)
        guard case .plain(let key) = opened.key else { throw .cryptoFailure("the key was not opened in memory") }
        return PKCS12Contents(key: key, certificate: opened.certificate, chain: opened.chain, friendlyName: opened.friendlyName)
    }

    /// Opens a profile for the security provider: the same checks as `read` (MAC first, key matched to its
    /// certificate), but on the calling thread only (no derivation runs concurrently: a module loaded into a host
    /// process creates no threads) and with the private key decrypted straight into locked memory
    /// (`LockedSigningKey`), never into an ordinary array.
    ///
    /// A file whose key is not encrypted is refused.
    public static func openLocked(_ der: [UInt8], password: String) throws(KeystoreError) -> LockedProfileContents {
        let opened = try open(der, password: password, known: nil, serially: true, lockingKey: true)
        guard case .locked(let key) = opened.key else { throw .malformed("the profile's private key is not encrypted") }
        return LockedProfileContents(key: key, certificate: opened.certificate, chain: opened.chain, friendlyName: opened.friendlyName)
    }

    /// A private key as a file yields it: in a swift-crypto key, or in locked memory.
    enum OpenedKey {
        case plain(SigningKey)
        case locked(LockedSigningKey)

        func matches(_ certificate: Certificate) -> Bool {
            switch self {
            case .plain(let key): return key.matches(certificate)
            case .locked(let key): return (try? key.matches(certificateDER: PKCS12.certificateDER(certificate))) ?? false
            }
        }
    }

    struct Opened {
        var key: OpenedKey
        var certificate: Certificate
        var chain: [Certificate]
        var friendlyName: String?
    }

    static func open(_ der: [UInt8], password: String, known: ProfileKeys?, serially: Bool, lockingKey: Bool) throws(KeystoreError) -> Opened {
        guard der.count <= maximumFileSize else {
            throw .malformed("PKCS#12 file is larger than \(maximumFileSize) bytes")
        }
        let pfx = try PFX(der)

        // Parse the (not yet authenticated) contents now, but hold back any error until the MAC has been checked.
        let outerLayer = Result.of { () throws(KeystoreError) -> Layer in try layer(of: pfx.authenticatedSafe) }
        var speculative: [EncryptedItem] = []
        if case .success(let layer) = outerLayer, layer.encrypted.count <= maximumEncryptedItems {
            speculative = layer.encrypted
        }

        var jobs: [@Sendable () -> Result<SymmetricKey?, KeystoreError>] = [
            { @Sendable in
                Result.of { () throws(KeystoreError) -> SymmetricKey? in
                    try pfx.verifyMAC(password: password, known: known)
                    return nil
                }
            }
        ]
        // Items encrypted under the same PBKDF2 inputs (salt, count, PRF, length) share one derivation.
        var distinct: [PBES2Parameters] = []
        var slotOfItem: [Int] = []
        for item in speculative {
            var inputs = item.parameters
            inputs.iv = []
            if let slot = distinct.firstIndex(of: inputs) {
                slotOfItem.append(slot)
            } else {
                slotOfItem.append(distinct.count)
                distinct.append(inputs)
                let parameters = item.parameters
                if let bag = known?.bag, bag.matches(parameters, password: password) {
                    jobs.append { @Sendable in .success(bag.key) }
                } else {
                    jobs.append { @Sendable in Result.of { () throws(KeystoreError) -> SymmetricKey? in try parameters.deriveKey(password: password) }
                    }
                }
            }
        }
        // The MAC job comes first, so its failure (wrong password) wins over anything else.
        let distinctKeys = try Parallel.run(jobs, serially: serially).dropFirst().compactMap { $0 }
        guard distinctKeys.count == distinct.count else { throw .cryptoFailure("key derivation returned the wrong number of keys") }
        let derived = slotOfItem.map { distinctKeys[$0] }

        var current = try outerLayer.get()
        var pendingKeys: [SymmetricKey]? = derived
        var wave = 0
        while !current.encrypted.isEmpty {
            wave += 1
            guard wave <= 3 else { throw .malformed("PKCS#12 nesting is too deep") }
            let items = current.encrypted
            guard items.count <= maximumEncryptedItems else { throw .malformed("PKCS#12 file holds too many encrypted items") }
            let keys: [SymmetricKey]
            if let ready = pendingKeys, ready.count == items.count {
                keys = ready
            } else {
                keys = try Parallel.run(
                    items.map { item in
                        let parameters = item.parameters
                        return { @Sendable in Result.of { () throws(KeystoreError) in try parameters.deriveKey(password: password) } }
                    }, serially: serially)
            }
            pendingKeys = nil

            var next = Layer(bags: current.bags, encrypted: [])
            for (item, key) in zip(items, keys) {
                switch item.kind {
                case .safeContents:
                    let plaintext: [UInt8]
                    do {
                        plaintext = try item.parameters.decrypt(item.ciphertext[...], key: key)
                    } catch  where error.code == .wrongPassword {
                        throw .wrongPassword("the MAC matched but the encrypted bags do not decrypt with this password")
                    }
                    let inner = try layer(ofSafeContents: plaintext[...])
                    next.bags.append(contentsOf: inner.bags)
                    next.encrypted.append(contentsOf: inner.encrypted)
                case .key(let attributes):
                    if lockingKey {
                        let locked = try LockedSigningKey.decrypt(item.ciphertext[...], parameters: item.parameters, key: key)
                        next.bags.append(ParsedBag(kind: .lockedKey(locked), attributes: attributes))
                    } else {
                        let key = try EncryptedPrivateKeyInfo.open(item.ciphertext[...], parameters: item.parameters, key: key)
                        next.bags.append(ParsedBag(kind: .key(key), attributes: attributes))
                    }
                }
            }
            current = next
        }

        var keys: [(key: OpenedKey, attributes: BagAttributes)] = []
        var certificates: [(certificate: Certificate, attributes: BagAttributes)] = []
        for bag in current.bags {
            switch bag.kind {
            case .key(let key):
                // A key stored in clear has nothing for locked memory to protect: the provider refuses such a file.
                guard !lockingKey else { throw .malformed("the profile's private key is not encrypted") }
                keys.append((.plain(key), bag.attributes))
            case .lockedKey(let key): keys.append((.locked(key), bag.attributes))
            case .certificate(let certificate): certificates.append((certificate, bag.attributes))
            case .shroudedKey, .ignored: break
            }
        }

        guard let keyEntry = keys.first else { throw .malformed("the PKCS#12 file contains no private key") }
        guard keys.count == 1 else { throw .malformed("the PKCS#12 file contains \(keys.count) private keys; expected one") }
        guard !certificates.isEmpty else { throw .malformed("the PKCS#12 file contains no certificate") }

        // Leaf: same localKeyId as the key, else the certificate carrying the key's public key, else the first one.
        var leafIndex = 0
        if let id = keyEntry.attributes.localKeyID,
            let index = certificates.firstIndex(where: { $0.attributes.localKeyID == id && keyEntry.key.matches($0.certificate) })
        {
            leafIndex = index
        } else if let index = certificates.firstIndex(where: { keyEntry.key.matches($0.certificate) }) {
            leafIndex = index
        } else if let id = keyEntry.attributes.localKeyID,
            let index = certificates.firstIndex(where: { $0.attributes.localKeyID == id })
        {
            leafIndex = index
        }
        let leaf = certificates[leafIndex]
        var chain = certificates.map(\.certificate)
        chain.remove(at: leafIndex)
        return Opened(
            key: keyEntry.key,
            certificate: leaf.certificate,
            chain: chain,
            friendlyName: keyEntry.attributes.friendlyName ?? leaf.attributes.friendlyName
        )
    }

    /// Something still encrypted: a SafeContents (EncryptedData) or a shrouded key bag.
    struct EncryptedItem: Sendable {
        enum Kind: Sendable {
            case safeContents
            case key(BagAttributes)
        }
        var kind: Kind
        var parameters: PBES2Parameters
        var ciphertext: [UInt8]
    }

    /// Readable bags plus what is still encrypted at this level.
    struct Layer {
        var bags: [ParsedBag]
        var encrypted: [EncryptedItem]
    }

    /// The AuthenticatedSafe split into plain bags and encrypted items (algorithms already checked).
    static func layer(of authenticatedSafe: ArraySlice<UInt8>) throws(KeystoreError) -> Layer {
        var result = Layer(bags: [], encrypted: [])
        for info in try parseAuthenticatedSafe(authenticatedSafe) {
            switch info {
            case .data(let octets):
                let inner = try layer(ofSafeContents: octets)
                result.bags.append(contentsOf: inner.bags)
                result.encrypted.append(contentsOf: inner.encrypted)
            case .encrypted(let algorithm, let ciphertext):
                result.encrypted.append(EncryptedItem(kind: .safeContents, parameters: try PBES2Parameters.parse(algorithm), ciphertext: ciphertext))
            }
        }
        return result
    }

    static func layer(ofSafeContents octets: ArraySlice<UInt8>) throws(KeystoreError) -> Layer {
        var result = Layer(bags: [], encrypted: [])
        for bag in try parseSafeContents(octets, depth: 0) {
            if case .shroudedKey(let info) = bag.kind {
                result.encrypted.append(
                    EncryptedItem(
                        kind: .key(bag.attributes), parameters: try PBES2Parameters.parse(info.algorithm), ciphertext: info.encryptedData))
            } else {
                result.bags.append(bag)
            }
        }
        return result
    }

    struct BagAttributes: Sendable {
        var localKeyID: [UInt8]?
        var friendlyName: String?
    }

    struct ParsedBag {
        enum Kind {
            case key(SigningKey)
            case lockedKey(LockedSigningKey)
            case shroudedKey(EncryptedPrivateKeyInfo)
            case certificate(Certificate)
            case ignored
        }
        var kind: Kind
        var attributes: BagAttributes
    }

    enum ContentInfo {
        case data(ArraySlice<UInt8>)
        case encrypted(AlgorithmIdentifier, [UInt8])
    }

    /// The outer PFX: version 3, authSafe of type data, MacData.
    struct PFX: Sendable {
        var authenticatedSafe: ArraySlice<UInt8>
        var macAlgorithm: AlgorithmIdentifier
        var mac: [UInt8]
        var macSalt: [UInt8]
        var macIterations: Int

        init(_ der: [UInt8]) throws(KeystoreError) {
            struct Raw {
                var authSafe: ArraySlice<UInt8>
                var macData: ASN1Node?
            }
            let raw: Raw = try mapError(.malformed, "not a PKCS#12 (PFX) structure") {
                let root = try BER.parse(der)
                return try BER.sequence(root, identifier: .sequence) { nodes in
                    let version = try Int(berEncoded: &nodes)
                    guard version == 3 else { throw KeystoreError.malformed("unsupported PFX version \(version)") }
                    guard let authSafeNode = nodes.next() else { throw KeystoreError.malformed("authSafe missing") }
                    let (type, content) = try PKCS12.contentInfoParts(authSafeNode)
                    guard type == OID.data else {
                        if type == OID.signedData {
                            throw KeystoreError.unsupportedAlgorithm("public-key integrity mode (signedData) is not supported")
                        }
                        throw KeystoreError.malformed("authSafe is not of type data")
                    }
                    guard let content else { throw KeystoreError.malformed("authSafe content missing") }
                    return Raw(authSafe: try ASN1Support.octets(content), macData: nodes.next())
                }
            }
            guard let macNode = raw.macData else {
                throw .weakParameters("the PKCS#12 file has no integrity MAC; re-export it with a password MAC")
            }
            self.authenticatedSafe = raw.authSafe
            (self.macAlgorithm, self.mac, self.macSalt, self.macIterations) = try mapError(.malformed, "invalid PKCS#12 MacData") {
                try BER.sequence(macNode, identifier: .sequence) { nodes in
                    guard let digestInfoNode = nodes.next(), let saltNode = nodes.next() else {
                        throw KeystoreError.malformed("MacData truncated")
                    }
                    let (algorithm, mac) = try BER.sequence(digestInfoNode, identifier: .sequence) { nodes in
                        let algorithm = try AlgorithmIdentifier(berEncoded: &nodes)
                        guard let macNode = nodes.next() else { throw KeystoreError.malformed("MAC value missing") }
                        return (algorithm, Array(try ASN1Support.octets(macNode)))
                    }
                    let salt = Array(try ASN1Support.octets(saltNode))
                    let iterations = try nodes.next().map { try Int(berEncoded: $0) } ?? 1
                    return (algorithm, mac, salt, iterations)
                }
            }
        }

        func verifyMAC(password: String, known: ProfileKeys? = nil) throws(KeystoreError) {
            let hash: PBEHash
            switch macAlgorithm.algorithm {
            case OID.sha256: hash = .sha256
            case OID.sha1: hash = .sha1
            case OID.pbmac1: throw .unsupportedAlgorithm("PBMAC1 integrity is not supported; re-export with an HMAC-SHA-256 MAC")
            default: throw .unsupportedAlgorithm("unsupported PKCS#12 MAC digest \(macAlgorithm.algorithm) (SHA-1 or SHA-256 only)")
            }
            guard (1...KDFCost.maximumIterations).contains(macIterations) else {
                throw .malformed("MAC iteration count \(macIterations) is out of range (1...\(KDFCost.maximumIterations))")
            }
            guard (1...1024).contains(macSalt.count) else { throw .malformed("MAC salt length is out of range") }
            guard mac.count == hash.digestLength else { throw .malformed("MAC value has the wrong length") }
            let key: SymmetricKey
            if let known, known.matchesMAC(salt: macSalt, iterations: macIterations, hash: hash, password: password) {
                key = known.macKey
            } else {
                key = SymmetricKey(data: try KeyDerivation.pkcs12(id: 3, password: password, salt: macSalt, hash: hash, iterations: macIterations))
            }
            let valid: Bool
            switch hash {
            case .sha256: valid = HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: authenticatedSafe, using: key)
            case .sha1: valid = HMAC<Insecure.SHA1>.isValidAuthenticationCode(mac, authenticating: authenticatedSafe, using: key)
            }
            guard valid else { throw .wrongPassword("the PKCS#12 MAC does not verify: wrong password (or a damaged file)") }
        }
    }

    /// Reads a ContentInfo: `SEQUENCE { contentType OID, content [0] EXPLICIT ANY OPTIONAL }`.
    static func contentInfoParts(_ node: ASN1Node) throws -> (ASN1ObjectIdentifier, ASN1Node?) {
        try BER.sequence(node, identifier: .sequence) { nodes in
            let type = try ASN1ObjectIdentifier(berEncoded: &nodes)
            let content = try BER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { $0 }
            return (type, content)
        }
    }

    static func parseAuthenticatedSafe(_ octets: ArraySlice<UInt8>) throws(KeystoreError) -> [ContentInfo] {
        try mapError(.malformed, "invalid PKCS#12 AuthenticatedSafe") {
            let root = try BER.parse(octets)
            return try BER.sequence(root, identifier: .sequence) { nodes in
                var infos: [ContentInfo] = []
                while let node = nodes.next() {
                    let (type, content) = try contentInfoParts(node)
                    guard let content else { throw KeystoreError.malformed("ContentInfo without content") }
                    switch type {
                    case OID.data:
                        infos.append(.data(try ASN1Support.octets(content)))
                    case OID.encryptedData:
                        infos.append(try parseEncryptedData(content))
                    case OID.envelopedData:
                        throw KeystoreError.unsupportedAlgorithm("public-key privacy mode (envelopedData) is not supported")
                    default:
                        throw KeystoreError.unsupportedAlgorithm("unsupported PKCS#12 content type \(type)")
                    }
                    guard infos.count <= maximumBags else { throw KeystoreError.malformed("too many content infos") }
                }
                return infos
            }
        }
    }

    /// Reads an EncryptedData: `SEQUENCE { version INTEGER, EncryptedContentInfo { contentType, algorithm, [0] IMPLICIT OCTET STRING } }`.
    private static func parseEncryptedData(_ node: ASN1Node) throws -> ContentInfo {
        try BER.sequence(node, identifier: .sequence) { nodes in
            _ = try Int(berEncoded: &nodes)
            guard let eciNode = nodes.next() else { throw KeystoreError.malformed("EncryptedContentInfo missing") }
            while nodes.next() != nil {}  // unprotectedAttrs
            return try BER.sequence(eciNode, identifier: .sequence) { nodes in
                let contentType = try ASN1ObjectIdentifier(berEncoded: &nodes)
                guard contentType == OID.data else { throw KeystoreError.malformed("encrypted content is not of type data") }
                let algorithm = try AlgorithmIdentifier(berEncoded: &nodes)
                guard let contentNode = nodes.next() else { throw KeystoreError.malformed("encrypted content missing") }
                let tag = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
                guard contentNode.identifier == tag else { throw KeystoreError.malformed("unexpected encrypted content tag") }
                let ciphertext = try ASN1OctetString(berEncoded: contentNode, withIdentifier: tag).bytes
                return .encrypted(algorithm, Array(ciphertext))
            }
        }
    }

    /// Reads a SafeContents: `SEQUENCE OF SafeBag`.
    static func parseSafeContents(_ octets: ArraySlice<UInt8>, depth: Int) throws(KeystoreError) -> [ParsedBag] {
        guard depth < 3 else { throw .malformed("PKCS#12 safe contents nest too deeply") }
        let rawBags: [(ASN1ObjectIdentifier, ASN1Node, BagAttributes)] = try mapError(.malformed, "invalid PKCS#12 SafeContents") {
            let root = try BER.parse(octets)
            return try BER.sequence(root, identifier: .sequence) { nodes in
                var result: [(ASN1ObjectIdentifier, ASN1Node, BagAttributes)] = []
                while let bagNode = nodes.next() {
                    result.append(
                        try BER.sequence(bagNode, identifier: .sequence) { nodes in
                            let bagID = try ASN1ObjectIdentifier(berEncoded: &nodes)
                            let value = try BER.explicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { $0 }
                            let attributes = try nodes.next().map(parseAttributes) ?? BagAttributes()
                            return (bagID, value, attributes)
                        })
                    guard result.count <= maximumBags else { throw KeystoreError.malformed("too many bags") }
                }
                return result
            }
        }

        var bags: [ParsedBag] = []
        for (bagID, value, attributes) in rawBags {
            switch bagID {
            case OID.keyBag:
                let pkcs8 = try mapError(.malformed, "invalid key bag") {
                    try ASN1Support.serialize { $0.serialize(value) }
                }
                bags.append(ParsedBag(kind: .key(try SigningKey(pkcs8DER: pkcs8)), attributes: attributes))
            case OID.pkcs8ShroudedKeyBag:
                bags.append(ParsedBag(kind: .shroudedKey(try EncryptedPrivateKeyInfo(node: value)), attributes: attributes))
            case OID.certBag:
                let certificate: Certificate? = try mapError(.malformed, "invalid certificate bag") {
                    try BER.sequence(value, identifier: .sequence) { nodes in
                        let certType = try ASN1ObjectIdentifier(berEncoded: &nodes)
                        let octets = try BER.explicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) {
                            try ASN1Support.octets($0)
                        }
                        guard certType == OID.x509Certificate else { return nil }  // e.g. SDSI certificates: ignored
                        return try Certificate(derEncoded: Array(octets))
                    }
                }
                bags.append(ParsedBag(kind: certificate.map { .certificate($0) } ?? .ignored, attributes: attributes))
            case OID.safeContentsBag:
                let nested = try mapError(.malformed, "invalid nested safe contents") {
                    try ASN1Support.serialize { $0.serialize(value) }
                }
                bags.append(contentsOf: try parseSafeContents(nested[...], depth: depth + 1))
            default:
                bags.append(ParsedBag(kind: .ignored, attributes: attributes))  // CRL and secret bags are not used
            }
            guard bags.count <= maximumBags else { throw .malformed("too many bags") }
        }
        return bags
    }

    private static func parseAttributes(_ node: ASN1Node) throws -> BagAttributes {
        var attributes = BagAttributes()
        guard node.identifier == .set, case .constructed(let children) = node.content else {
            throw KeystoreError.malformed("bag attributes are not a SET")
        }
        for child in children {
            try BER.sequence(child, identifier: .sequence) { nodes in
                let type = try ASN1ObjectIdentifier(berEncoded: &nodes)
                guard let values = nodes.next(), values.identifier == .set, case .constructed(let valueNodes) = values.content else {
                    throw KeystoreError.malformed("attribute values are not a SET")
                }
                var iterator = valueNodes.makeIterator()
                guard let first = iterator.next() else { return }
                switch type {
                case OID.localKeyID:
                    attributes.localKeyID = Array(try ASN1Support.octets(first))
                case OID.friendlyName:
                    guard first.identifier == .bmpString, case .primitive(let bytes) = first.content else {
                        throw KeystoreError.malformed("friendlyName is not a BMPString")
                    }
                    attributes.friendlyName = try ASN1Support.string(fromBMP: bytes)
                default:
                    break
                }
            }
        }
        return attributes
    }
}
