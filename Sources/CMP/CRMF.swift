import ParapheShared
import SwiftASN1
import X509

/// Bytes a decoder kept to write a value back exactly; ignored by `==` and hashing.
struct OriginalBytes: Hashable, Sendable {
    var bytes: [UInt8]?
    init(_ bytes: [UInt8]? = nil) { self.bytes = bytes }
    static func == (lhs: OriginalBytes, rhs: OriginalBytes) -> Bool { true }
    func hash(into hasher: inout Hasher) {}
}

/// CertTemplate (RFC 4211 §5): every field optional, IMPLICIT tags [0]…[9].
public struct CertTemplate: Sendable, Hashable, DERImplicitlyTaggable {
    public var version: Int?
    /// INTEGER content octets (two's complement, big-endian).
    public var serialNumber: [UInt8]?
    public var signingAlg: AlgorithmIdentifier?
    /// DER of the issuer Name.
    public var issuer: [UInt8]?
    /// DER of OptionalValidity as a universal SEQUENCE.
    public var validity: [UInt8]?
    /// DER of the subject Name.
    public var subject: [UInt8]?
    /// DER of a SubjectPublicKeyInfo (universal SEQUENCE, readable by `Certificate.PublicKey(derEncoded:)`).
    public var publicKey: [UInt8]?
    public var issuerUID: ASN1BitString?
    public var subjectUID: ASN1BitString?
    /// DER of Extensions (universal SEQUENCE OF Extension).
    public var extensions: [UInt8]?

    public init(
        version: Int? = nil, serialNumber: [UInt8]? = nil, signingAlg: AlgorithmIdentifier? = nil, issuer: [UInt8]? = nil,
        validity: [UInt8]? = nil, subject: [UInt8]? = nil, publicKey: [UInt8]? = nil, issuerUID: ASN1BitString? = nil,
        subjectUID: ASN1BitString? = nil, extensions: [UInt8]? = nil
    ) {
        self.version = version
        self.serialNumber = serialNumber
        self.signingAlg = signingAlg
        self.issuer = issuer
        self.validity = validity
        self.subject = subject
        self.publicKey = publicKey
        self.issuerUID = issuerUID
        self.subjectUID = subjectUID
        self.extensions = extensions
    }

    /// The subject as a DistinguishedName, if present and well formed.
    public var subjectName: DistinguishedName? { subject.flatMap(Self.name) }
    /// The issuer as a DistinguishedName, if present and well formed.
    public var issuerName: DistinguishedName? { issuer.flatMap(Self.name) }

    private static func name(_ der: [UInt8]) -> DistinguishedName? {
        guard let node = try? DER.parse(der) else { return nil }
        return try? DistinguishedName(derEncoded: node)
    }

    /// The extensions, parsed with swift-certificates.
    public func parsedExtensions() throws(CMPError) -> Certificate.Extensions? {
        guard let extensions else { return nil }
        return try decoding("extensions") {
            let node = try DER.parse(extensions)
            return try Certificate.Extensions(DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: node))
        }
    }

    /// DER of the SubjectPublicKeyInfo of `key` (what `publicKey` holds).
    public static func publicKeyInfoDER(_ key: Certificate.PublicKey) throws -> [UInt8] { try derBytes(key) }

    /// DER of an Extensions SEQUENCE, to put in `extensions` or `RevDetails.crlEntryDetails`.
    public static func extensionsDER(_ extensions: Certificate.Extensions) throws -> [UInt8] {
        try derBytes { try $0.serializeSequenceOf(Array(extensions)) }
    }

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        var template = CertTemplate()
        try DER.sequence(node, identifier: identifier) { nodes in
            var last: Int = -1
            while let field = nodes.next() {
                guard field.identifier.tagClass == .contextSpecific, Int(field.identifier.tagNumber) > last else {
                    throw CMPError.malformed("CertTemplate fields out of order")
                }
                last = Int(field.identifier.tagNumber)
                switch field.identifier.tagNumber {
                case 0: template.version = try Int(derEncoded: field, withIdentifier: field.identifier)
                case 1:
                    guard case .primitive(let bytes) = field.content, !bytes.isEmpty else {
                        throw CMPError.malformed("bad serialNumber")
                    }
                    template.serialNumber = Array(bytes)
                case 2: template.signingAlg = try AlgorithmIdentifier(derEncoded: field, withIdentifier: field.identifier)
                case 3: template.issuer = Array(try field.explicitChild().encodedBytes)
                case 4: template.validity = try field.contentsAsSequence()
                case 5: template.subject = Array(try field.explicitChild().encodedBytes)
                case 6: template.publicKey = try field.contentsAsSequence()
                case 7: template.issuerUID = try ASN1BitString(derEncoded: field, withIdentifier: field.identifier)
                case 8: template.subjectUID = try ASN1BitString(derEncoded: field, withIdentifier: field.identifier)
                case 9: template.extensions = try field.contentsAsSequence()
                default: throw CMPError.malformed("unknown CertTemplate field")
                }
            }
        }
        self = template
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            if let version { try version.serialize(into: &coder, withIdentifier: .context(0)) }
            if let serialNumber { coder.appendPrimitiveNode(identifier: .context(1)) { $0.append(contentsOf: serialNumber) } }
            if let signingAlg { try signingAlg.serialize(into: &coder, withIdentifier: .context(2)) }
            if let issuer { coder.serialize(der: issuer, explicitlyTaggedWith: 3) }
            if let validity { try coder.serialize(der: validity, implicitlyTaggedWith: 4) }
            if let subject { coder.serialize(der: subject, explicitlyTaggedWith: 5) }
            if let publicKey { try coder.serialize(der: publicKey, implicitlyTaggedWith: 6) }
            if let issuerUID { try issuerUID.serialize(into: &coder, withIdentifier: .context(7)) }
            if let subjectUID { try subjectUID.serialize(into: &coder, withIdentifier: .context(8)) }
            if let extensions { try coder.serialize(der: extensions, implicitlyTaggedWith: 9) }
        }
    }
}

/// CertRequest: an id, a template and optional controls.
public struct CertRequest: Sendable, Hashable, DERImplicitlyTaggable {
    public var certReqId: Int
    public var certTemplate: CertTemplate
    /// DER of Controls (SEQUENCE OF AttributeTypeAndValue), kept raw.
    public var controls: [UInt8]?

    public init(certReqId: Int, certTemplate: CertTemplate, controls: [UInt8]? = nil) {
        self.certReqId = certReqId
        self.certTemplate = certTemplate
        self.controls = controls
    }

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            CertRequest(
                certReqId: try Int(derEncoded: &nodes), certTemplate: try CertTemplate(derEncoded: &nodes),
                controls: nodes.next().map { Array($0.encodedBytes) })
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(certReqId)
            try coder.serialize(certTemplate)
            if let controls { coder.serializeRawBytes(controls) }
        }
    }
}

/// POPOSigningKey: a signature over the DER of the CertRequest.
public struct POPOSigningKey: Sendable, Hashable {
    /// DER of the whole `[0]` poposkInput element, when present (this module refuses to verify such POPs).
    public var poposkInput: [UInt8]?
    public var algorithmIdentifier: AlgorithmIdentifier
    public var signature: [UInt8]

    public init(poposkInput: [UInt8]? = nil, algorithmIdentifier: AlgorithmIdentifier, signature: [UInt8]) {
        self.poposkInput = poposkInput
        self.algorithmIdentifier = algorithmIdentifier
        self.signature = signature
    }
}

/// ProofOfPossession (RFC 4211 §4): the key-encipherment and key-agreement forms are kept as raw DER.
public enum ProofOfPossession: Sendable, Hashable {
    case raVerified
    case signature(POPOSigningKey)
    /// DER of the whole `[2]` element.
    case keyEncipherment([UInt8])
    /// DER of the whole `[3]` element.
    case keyAgreement([UInt8])

    init(derEncoded node: ASN1Node) throws {
        guard node.identifier.tagClass == .contextSpecific else { throw CMPError.malformed("bad ProofOfPossession") }
        switch node.identifier.tagNumber {
        case 0:
            guard case .primitive(let bytes) = node.content, bytes.isEmpty else { throw CMPError.malformed("bad raVerified") }
            self = .raVerified
        case 1:
            self = .signature(
                try DER.sequence(node, identifier: .context(1)) { nodes in
                    let input = DER.optionalImplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) {
                        Array($0.encodedBytes)
                    }
                    let algorithm = try AlgorithmIdentifier(derEncoded: &nodes)
                    let bits = try ASN1BitString(derEncoded: &nodes)
                    guard bits.paddingBits == 0 else { throw CMPError.malformed("POP signature has padding bits") }
                    return POPOSigningKey(poposkInput: input, algorithmIdentifier: algorithm, signature: Array(bits.bytes))
                })
        case 2: self = .keyEncipherment(Array(node.encodedBytes))
        case 3: self = .keyAgreement(Array(node.encodedBytes))
        default: throw CMPError.malformed("unknown ProofOfPossession")
        }
    }

    func serialize(into coder: inout DER.Serializer) throws {
        switch self {
        case .raVerified: coder.appendPrimitiveNode(identifier: .context(0)) { _ in }
        case .signature(let key):
            try coder.appendConstructedNode(identifier: .context(1)) { coder in
                if let input = key.poposkInput { coder.serializeRawBytes(input) }
                try coder.serialize(key.algorithmIdentifier)
                try coder.serialize(ASN1BitString(bytes: key.signature[...]))
            }
        case .keyEncipherment(let raw), .keyAgreement(let raw): coder.serializeRawBytes(raw)
        }
    }
}

/// CertReqMsg: a CertRequest with its proof of possession; keeps the request's received DER for POP checks.
public struct CertReqMsg: Sendable, Hashable, DERImplicitlyTaggable {
    public var certReq: CertRequest { didSet { certReqDER = OriginalBytes() } }
    public var popo: ProofOfPossession?
    /// DER of regInfo (SEQUENCE OF AttributeTypeAndValue), kept raw.
    public var regInfo: [UInt8]?
    private var certReqDER = OriginalBytes()

    public init(certReq: CertRequest, popo: ProofOfPossession? = nil, regInfo: [UInt8]? = nil) {
        self.certReq = certReq
        self.popo = popo
        self.regInfo = regInfo
    }

    /// The DER the POP signature covers: the CertRequest exactly as received, or as this module encodes it.
    public func certRequestDER() throws -> [UInt8] {
        if let bytes = certReqDER.bytes { return bytes }
        return try derBytes(certReq)
    }

    /// Builds a request for `publicKeyInfoDER` and signs its DER with `sign` for a signature POP.
    public static func signed(
        certReqId: Int = 0, subject: [UInt8]?, publicKeyInfoDER: [UInt8], extensions: Certificate.Extensions? = nil,
        sign: (_ message: [UInt8]) throws -> (algorithmIdentifierDER: [UInt8], signature: [UInt8])
    ) throws -> CertReqMsg {
        let template = CertTemplate(
            subject: subject, publicKey: publicKeyInfoDER,
            extensions: try extensions.map { try CertTemplate.extensionsDER($0) })
        let request = CertRequest(certReqId: certReqId, certTemplate: template)
        let (algorithmDER, signature) = try sign(try derBytes(request))
        let algorithm = try AlgorithmIdentifier(derEncoded: algorithmDER)
        return CertReqMsg(certReq: request, popo: .signature(POPOSigningKey(algorithmIdentifier: algorithm, signature: signature)))
    }

    /// Checks a signature POP: the template's key signed the CertRequest DER with the POP's algorithm.
    public func verifyProofOfPossession() throws(CMPError) {
        guard case .signature(let pop) = popo else {
            throw CMPError(.badProofOfPossession, "the proof of possession is not a signature")
        }
        guard pop.poposkInput == nil else {
            throw CMPError(.badProofOfPossession, "poposkInput is not supported")
        }
        guard let spki = certReq.certTemplate.publicKey,
            let key = try? Certificate.PublicKey(derEncoded: spki)
        else { throw CMPError(.badProofOfPossession, "the template has no usable public key") }
        guard let algorithm = pop.algorithmIdentifier.signatureAlgorithm else {
            throw CMPError(.badProofOfPossession, "unsupported POP signature algorithm")
        }
        let message: [UInt8]
        do { message = try certRequestDER() } catch { throw CMPError.malformed("cannot encode the CertRequest") }
        guard key.isValidSignature(pop.signature, for: message, signatureAlgorithm: algorithm) else {
            throw CMPError(.badProofOfPossession, "the POP signature does not verify")
        }
    }

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            guard let requestNode = nodes.next() else { throw CMPError.malformed("CertReqMsg without certReq") }
            var message = CertReqMsg(certReq: try CertRequest(derEncoded: requestNode))
            message.certReqDER = OriginalBytes(Array(requestNode.encodedBytes))
            if let next = nodes.next() {
                if next.identifier.tagClass == .contextSpecific {
                    message.popo = try ProofOfPossession(derEncoded: next)
                    message.regInfo = nodes.next().map { Array($0.encodedBytes) }
                } else {
                    message.regInfo = Array(next.encodedBytes)
                }
            }
            return message
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            coder.serializeRawBytes(try certRequestDER())
            try popo?.serialize(into: &coder)
            if let regInfo { coder.serializeRawBytes(regInfo) }
        }
    }
}

extension AlgorithmIdentifier {
    public static let ecdsaWithSHA256 = AlgorithmIdentifier(algorithm: CMPOID.ecdsaWithSHA256)
    public static let ecdsaWithSHA384 = AlgorithmIdentifier(algorithm: CMPOID.ecdsaWithSHA384)
    public static let ecdsaWithSHA512 = AlgorithmIdentifier(algorithm: CMPOID.ecdsaWithSHA512)
    public static let sha256WithRSAEncryption = AlgorithmIdentifier.withNull(CMPOID.sha256WithRSA)
    public static let ed25519 = AlgorithmIdentifier(algorithm: CMPOID.ed25519)

    /// The swift-certificates signature algorithm this identifier names, if supported (ECDSA, RSA PKCS#1 v1.5, Ed25519).
    public var signatureAlgorithm: Certificate.SignatureAlgorithm? {
        switch algorithm {
        case CMPOID.ecdsaWithSHA256 where parameters == nil: return .ecdsaWithSHA256
        case CMPOID.ecdsaWithSHA384 where parameters == nil: return .ecdsaWithSHA384
        case CMPOID.ecdsaWithSHA512 where parameters == nil: return .ecdsaWithSHA512
        case CMPOID.sha256WithRSA where hasNoParameters: return .sha256WithRSAEncryption
        case CMPOID.sha384WithRSA where hasNoParameters: return .sha384WithRSAEncryption
        case CMPOID.sha512WithRSA where hasNoParameters: return .sha512WithRSAEncryption
        case CMPOID.ed25519 where parameters == nil: return .ed25519
        default: return nil
        }
    }
}
