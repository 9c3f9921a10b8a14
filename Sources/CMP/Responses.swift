import ParapheShared
import SwiftASN1

/// CertOrEncCert: the issued certificate (DER) or an encrypted one (raw DER of EncryptedKey).
public enum CertOrEncCert: Sendable, Hashable {
    case certificate([UInt8])
    case encryptedCert([UInt8])
}

/// CertifiedKeyPair: the certificate, plus optional private key and publication info kept raw.
public struct CertifiedKeyPair: Sendable, Hashable, DERImplicitlyTaggable {
    public var certOrEncCert: CertOrEncCert
    /// DER inside `[0]` (EncryptedKey), kept raw.
    public var privateKey: [UInt8]?
    /// DER inside `[1]` (PKIPublicationInfo), kept raw.
    public var publicationInfo: [UInt8]?

    public init(certOrEncCert: CertOrEncCert, privateKey: [UInt8]? = nil, publicationInfo: [UInt8]? = nil) {
        self.certOrEncCert = certOrEncCert
        self.privateKey = privateKey
        self.publicationInfo = publicationInfo
    }

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            guard let choice = nodes.next(), choice.identifier.tagClass == .contextSpecific else {
                throw CMPError.malformed("bad CertOrEncCert")
            }
            let inner = Array(try choice.explicitChild().encodedBytes)
            let certOrEncCert: CertOrEncCert
            switch choice.identifier.tagNumber {
            case 0: certOrEncCert = .certificate(inner)
            case 1: certOrEncCert = .encryptedCert(inner)
            default: throw CMPError.malformed("unknown CertOrEncCert")
            }
            let key = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { Array($0.encodedBytes) }
            let info = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 1, tagClass: .contextSpecific) { Array($0.encodedBytes) }
            return CertifiedKeyPair(certOrEncCert: certOrEncCert, privateKey: key, publicationInfo: info)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        coder.appendConstructedNode(identifier: identifier) { coder in
            switch certOrEncCert {
            case .certificate(let der): coder.serialize(der: der, explicitlyTaggedWith: 0)
            case .encryptedCert(let der): coder.serialize(der: der, explicitlyTaggedWith: 1)
            }
            if let privateKey { coder.serialize(der: privateKey, explicitlyTaggedWith: 0) }
            if let publicationInfo { coder.serialize(der: publicationInfo, explicitlyTaggedWith: 1) }
        }
    }
}

/// CertResponse: the answer to one CertReqMsg (or to a p10cr, with certReqId -1).
public struct CertResponse: Sendable, Hashable, DERImplicitlyTaggable {
    public var certReqId: Int
    public var status: PKIStatusInfo
    public var certifiedKeyPair: CertifiedKeyPair?
    /// The rspInfo OCTET STRING contents.
    public var rspInfo: [UInt8]?

    public init(certReqId: Int, status: PKIStatusInfo, certifiedKeyPair: CertifiedKeyPair? = nil, rspInfo: [UInt8]? = nil) {
        self.certReqId = certReqId
        self.status = status
        self.certifiedKeyPair = certifiedKeyPair
        self.rspInfo = rspInfo
    }

    /// The issued certificate's DER, when the response carries a plain one.
    public var certificate: [UInt8]? {
        if case .certificate(let der) = certifiedKeyPair?.certOrEncCert { return der }
        return nil
    }

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            let id = try Int(derEncoded: &nodes)
            let status = try PKIStatusInfo(derEncoded: &nodes)
            let pair: CertifiedKeyPair? = try DER.optionalImplicitlyTagged(&nodes)
            let info: ASN1OctetString? = try DER.optionalImplicitlyTagged(&nodes)
            return CertResponse(certReqId: id, status: status, certifiedKeyPair: pair, rspInfo: info.map { Array($0.bytes) })
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(certReqId)
            try coder.serialize(status)
            if let certifiedKeyPair { try coder.serialize(certifiedKeyPair) }
            if let rspInfo { try coder.serialize(ASN1OctetString(contentBytes: rspInfo[...])) }
        }
    }
}

/// CertRepMessage: the body of ip, cp and kup.
public struct CertRepMessage: Sendable, Hashable, DERImplicitlyTaggable {
    /// caPubs [1]: DER certificates; empty means absent.
    public var caPubs: [[UInt8]]
    public var response: [CertResponse]

    public init(caPubs: [[UInt8]] = [], response: [CertResponse]) {
        self.caPubs = caPubs
        self.response = response
    }

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            let caPubs = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 1, tagClass: .contextSpecific) {
                try DER.sequence(of: RawElement.self, identifier: .sequence, rootNode: $0).map(\.bytes)
            }
            let responses = try DER.sequence(of: CertResponse.self, identifier: .sequence, nodes: &nodes)
            return CertRepMessage(caPubs: caPubs ?? [], response: responses)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            if !caPubs.isEmpty {
                try coder.serialize(explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific) { coder in
                    try coder.serializeSequenceOf(caPubs.map(RawElement.init))
                }
            }
            try coder.serializeSequenceOf(response)
        }
    }
}

/// RevDetails: which certificate to revoke (serial number and issuer in a CertTemplate) and why.
public struct RevDetails: Sendable, Hashable, DERImplicitlyTaggable {
    public var certDetails: CertTemplate
    /// DER of the crlEntryDetails Extensions (for example a reasonCode).
    public var crlEntryDetails: [UInt8]?

    public init(certDetails: CertTemplate, crlEntryDetails: [UInt8]? = nil) {
        self.certDetails = certDetails
        self.crlEntryDetails = crlEntryDetails
    }

    /// A revocation request for `serialNumber` (INTEGER content octets) from `issuer` (Name DER) with an optional
    /// CRL reason code (RFC 5280 §5.3.1).
    public init(serialNumber: [UInt8], issuer: [UInt8], reasonCode: Int? = nil) throws {
        certDetails = CertTemplate(serialNumber: serialNumber, issuer: issuer)
        guard let reasonCode else { return }
        guard (0...10).contains(reasonCode) else { throw CMPError(.invalidArgument, "CRL reason code out of range") }
        let reason = derBytes { $0.appendPrimitiveNode(identifier: .enumerated) { $0.append(UInt8(reasonCode)) } }
        crlEntryDetails = try derBytes { coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.serialize(CMPOID.crlReason)
                    try coder.serialize(ASN1OctetString(contentBytes: reason[...]))
                }
            }
        }
    }

    /// The CRL reason code in crlEntryDetails, if any.
    public var reasonCode: Int? {
        guard let crlEntryDetails, let root = try? DER.parse(crlEntryDetails), case .constructed(let extensions) = root.content
        else { return nil }
        for ext in extensions {
            guard case .constructed(let fields) = ext.content else { continue }
            let parts = Array(fields)
            guard let first = parts.first, let oid = try? ASN1ObjectIdentifier(derEncoded: first), oid == CMPOID.crlReason,
                let value = parts.last, let octets = try? ASN1OctetString(derEncoded: value),
                let inner = try? DER.parse(octets.bytes), inner.identifier == .enumerated,
                case .primitive(let bytes) = inner.content, bytes.count == 1, let first = bytes.first
            else { continue }
            return Int(first)
        }
        return nil
    }

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            RevDetails(certDetails: try CertTemplate(derEncoded: &nodes), crlEntryDetails: nodes.next().map { Array($0.encodedBytes) })
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(certDetails)
            if let crlEntryDetails { coder.serializeRawBytes(crlEntryDetails) }
        }
    }
}

/// RevRepContent: one status per RevDetails; revCerts [0] and crls [1] kept as raw DER of their contents.
public struct RevRepContent: Sendable, Hashable, DERImplicitlyTaggable {
    public var status: [PKIStatusInfo]
    public var revCerts: [UInt8]?
    public var crls: [UInt8]?

    public init(status: [PKIStatusInfo], revCerts: [UInt8]? = nil, crls: [UInt8]? = nil) {
        self.status = status
        self.revCerts = revCerts
        self.crls = crls
    }

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            let status = try DER.sequence(of: PKIStatusInfo.self, identifier: .sequence, nodes: &nodes)
            let revCerts = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { Array($0.encodedBytes) }
            let crls = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 1, tagClass: .contextSpecific) { Array($0.encodedBytes) }
            return RevRepContent(status: status, revCerts: revCerts, crls: crls)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serializeSequenceOf(status)
            if let revCerts { coder.serialize(der: revCerts, explicitlyTaggedWith: 0) }
            if let crls { coder.serialize(der: crls, explicitlyTaggedWith: 1) }
        }
    }
}
