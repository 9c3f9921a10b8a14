import CPKCS11
import Crypto
import Keystore
import SwiftASN1

/// The fields of a certificate the module's objects show, read from its DER once, when the token is loaded.
struct CertificateFields {
    enum KeyType { case rsa, ec }

    var der: [UInt8]
    var subject: [UInt8]
    var issuer: [UInt8]
    /// The serial number as a DER INTEGER (PKCS#11's CKA_SERIAL_NUMBER).
    var serial: [UInt8]
    /// Its content bytes (the number, big-endian).
    var serialNumber: [UInt8]
    var subjectPublicKeyInfo: [UInt8]
    var keyType: KeyType
    /// RSA: the modulus and public exponent (no leading zero).
    var modulus: [UInt8] = []
    var publicExponent: [UInt8] = []
    /// EC: the curve's OID (DER) and the point as a DER OCTET STRING.
    var ecParameters: [UInt8] = []
    var ecPoint: [UInt8] = []
    /// The CKA_ID shared by a certificate and its keys: SHA-1 of the public key's bits (RFC 5280's key identifier).
    var identifier: [UInt8]
    /// The subject's common name, if any.
    var commonName: String?
    /// Whether the certificate is a CA's (basicConstraints cA).
    var isAuthority: Bool

    private static let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 1]
    private static let ecPublicKey: ASN1ObjectIdentifier = [1, 2, 840, 10045, 2, 1]
    private static let prime256v1: ASN1ObjectIdentifier = [1, 2, 840, 10045, 3, 1, 7]
    private static let commonNameOID: ASN1ObjectIdentifier = [2, 5, 4, 3]
    private static let basicConstraintsOID: ASN1ObjectIdentifier = [2, 5, 29, 19]

    static func children(_ node: ASN1Node) throws -> [ASN1Node] {
        guard case .constructed(let nodes) = node.content else { throw ASN1Error.invalidASN1Object(reason: "expected a constructed node") }
        return Array(nodes)
    }

    fileprivate static func parse(_ der: [UInt8]) throws -> CertificateFields {
        let certificate = try children(DER.parse(der))
        guard let tbsNode = certificate.first else { throw ASN1Error.invalidASN1Object(reason: "empty certificate") }
        var tbs = try children(tbsNode)
        if tbs.first?.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) { tbs.removeFirst() }
        guard tbs.count >= 6 else { throw ASN1Error.invalidASN1Object(reason: "short TBSCertificate") }
        let serialNode = tbs[0]
        guard case .primitive(let serialContent) = serialNode.content else { throw ASN1Error.invalidASN1Object(reason: "serial") }
        let spki = try children(tbs[5])
        guard spki.count == 2 else { throw ASN1Error.invalidASN1Object(reason: "SubjectPublicKeyInfo") }
        let algorithm = try children(spki[0])
        guard let algorithmOIDNode = algorithm.first else { throw ASN1Error.invalidASN1Object(reason: "algorithm") }
        let algorithmOID = try ASN1ObjectIdentifier(derEncoded: algorithmOIDNode)
        let keyBits = Array(try ASN1BitString(derEncoded: spki[1]).bytes)

        var fields = CertificateFields(
            der: der, subject: Array(tbs[4].encodedBytes), issuer: Array(tbs[2].encodedBytes), serial: Array(serialNode.encodedBytes),
            serialNumber: Array(serialContent), subjectPublicKeyInfo: Array(tbs[5].encodedBytes), keyType: .rsa,
            identifier: Array(Insecure.SHA1.hash(data: keyBits)), commonName: nil, isAuthority: false)
        switch algorithmOID {
        case rsaEncryption:
            let numbers = try children(DER.parse(keyBits))
            guard numbers.count == 2, case .primitive(let n) = numbers[0].content, case .primitive(let e) = numbers[1].content else {
                throw ASN1Error.invalidASN1Object(reason: "RSAPublicKey")
            }
            fields.modulus = Array(n.drop(while: { $0 == 0 }))
            fields.publicExponent = Array(e.drop(while: { $0 == 0 }))
        case ecPublicKey:
            guard algorithm.count == 2, try ASN1ObjectIdentifier(derEncoded: algorithm[1]) == prime256v1, keyBits.count == 65 else {
                throw ASN1Error.invalidASN1Object(reason: "only P-256 keys")
            }
            fields.keyType = .ec
            fields.ecParameters = Array(algorithm[1].encodedBytes)
            fields.ecPoint = [0x04, UInt8(keyBits.count)] + keyBits
        default:
            throw ASN1Error.invalidASN1Object(reason: "key algorithm")
        }
        // The subject's CN (for labels), and basicConstraints (a CA certificate is shown as an authority's).
        for rdn in try children(tbs[4]) {
            for attribute in try children(rdn) {
                let parts = try children(attribute)
                if parts.count == 2, try ASN1ObjectIdentifier(derEncoded: parts[0]) == commonNameOID,
                    case .primitive(let value) = parts[1].content
                {
                    fields.commonName = String(validating: value, as: UTF8.self)
                }
            }
        }
        if let extensionsNode = tbs.dropFirst(6).first(where: { $0.identifier == ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific) }),
            let list = try children(extensionsNode).first
        {
            for item in try children(list) {
                let parts = try children(item)
                guard let first = parts.first, try ASN1ObjectIdentifier(derEncoded: first) == basicConstraintsOID,
                    let valueNode = parts.last, case .primitive(let octets) = valueNode.content
                else { continue }
                let constraints = try children(DER.parse(Array(octets)))
                if let flag = constraints.first, flag.identifier == .boolean, case .primitive(let value) = flag.content {
                    fields.isAuthority = value.first == 0xFF
                }
            }
        }
        return fields
    }
}

extension CertificateFields {
    init?(der: [UInt8]) {
        guard let fields = try? Self.parse(der) else { return nil }
        self = fields
    }
}

/// An object of a token: its attributes as PKCS#11 encodes them, and which ones are sensitive.
struct TokenObject {
    enum Kind { case certificate, publicKey, privateKey }

    var kind: Kind
    var attributes: [CK_ATTRIBUTE_TYPE: [UInt8]]
    var sensitive: Set<CK_ATTRIBUTE_TYPE> = []

    static func bool(_ value: Bool) -> [UInt8] { [value ? 1 : 0] }
    static func ulong(_ value: CK_ULONG) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

    /// The objects of a token: its certificate (and the CA chain), the public key, and the private key
    /// (which the module shows only while the person is logged in).
    static func objects(label: String, leaf: CertificateFields, chain: [CertificateFields]) -> [TokenObject] {
        let name = Array((leaf.commonName ?? label).utf8)
        var objects = [certificate(leaf, label: name, category: 1)]
        var keyCommon: [CK_ATTRIBUTE_TYPE: [UInt8]] = [
            CKA_TOKEN: bool(true), CKA_MODIFIABLE: bool(false), CKA_LABEL: name, CKA_ID: leaf.identifier,
            CKA_KEY_TYPE: ulong(leaf.keyType == .rsa ? CKK_RSA : CKK_EC), CKA_START_DATE: [], CKA_END_DATE: [], CKA_DERIVE: bool(false),
            CKA_LOCAL: bool(false), CKA_KEY_GEN_MECHANISM: ulong(CK_ULONG.max), CKA_SUBJECT: leaf.subject,
            CKA_PUBLIC_KEY_INFO: leaf.subjectPublicKeyInfo,
            CKA_ALLOWED_MECHANISMS: Mechanism.supported(for: leaf.keyType).flatMap { ulong($0.type) },
        ]
        switch leaf.keyType {
        case .rsa:
            keyCommon[CKA_MODULUS] = leaf.modulus
            keyCommon[CKA_MODULUS_BITS] = ulong(CK_ULONG(leaf.modulus.count * 8))
            keyCommon[CKA_PUBLIC_EXPONENT] = leaf.publicExponent
        case .ec:
            keyCommon[CKA_EC_PARAMS] = leaf.ecParameters
        }
        var publicKey = keyCommon
        publicKey[CKA_CLASS] = ulong(CKO_PUBLIC_KEY)
        publicKey[CKA_PRIVATE] = bool(false)
        for attribute in [CKA_ENCRYPT, CKA_VERIFY_RECOVER, CKA_WRAP, CKA_TRUSTED] { publicKey[attribute] = bool(false) }
        publicKey[CKA_VERIFY] = bool(true)
        if leaf.keyType == .ec { publicKey[CKA_EC_POINT] = leaf.ecPoint }
        objects.append(TokenObject(kind: .publicKey, attributes: publicKey))

        var privateKey = keyCommon
        privateKey[CKA_CLASS] = ulong(CKO_PRIVATE_KEY)
        privateKey[CKA_PRIVATE] = bool(true)
        privateKey[CKA_SENSITIVE] = bool(true)
        privateKey[CKA_EXTRACTABLE] = bool(false)
        privateKey[CKA_SIGN] = bool(true)
        for attribute in [
            CKA_DECRYPT, CKA_SIGN_RECOVER, CKA_UNWRAP, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_WRAP_WITH_TRUSTED, CKA_ALWAYS_AUTHENTICATE,
        ] {
            privateKey[attribute] = bool(false)
        }
        var sensitive: Set<CK_ATTRIBUTE_TYPE> = [CKA_VALUE]
        if leaf.keyType == .rsa {
            sensitive.formUnion([CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT])
        }
        objects.append(TokenObject(kind: .privateKey, attributes: privateKey, sensitive: sensitive))

        for authority in chain {
            objects.append(certificate(authority, label: Array((authority.commonName ?? "CA").utf8), category: 2))
        }
        return objects
    }

    private static func certificate(_ fields: CertificateFields, label: [UInt8], category: CK_ULONG) -> TokenObject {
        let digest = Array(Insecure.SHA1.hash(data: fields.der))
        return TokenObject(
            kind: .certificate,
            attributes: [
                CKA_CLASS: ulong(CKO_CERTIFICATE), CKA_TOKEN: bool(true), CKA_PRIVATE: bool(false), CKA_MODIFIABLE: bool(false),
                CKA_LABEL: label, CKA_CERTIFICATE_TYPE: ulong(CKC_X_509), CKA_TRUSTED: bool(false),
                CKA_CERTIFICATE_CATEGORY: ulong(category), CKA_CHECK_VALUE: Array(digest.prefix(3)), CKA_START_DATE: [], CKA_END_DATE: [],
                CKA_PUBLIC_KEY_INFO: fields.subjectPublicKeyInfo, CKA_SUBJECT: fields.subject, CKA_ID: fields.identifier,
                CKA_ISSUER: fields.issuer, CKA_SERIAL_NUMBER: fields.serial, CKA_VALUE: fields.der, CKA_URL: [],
                CKA_HASH_OF_SUBJECT_PUBLIC_KEY: [], CKA_HASH_OF_ISSUER_PUBLIC_KEY: [], CKA_JAVA_MIDP_SECURITY_DOMAIN: ulong(0),
            ])
    }
}
