import ParapheShared
import SwiftASN1
import X509

/// The media type of CMP messages over HTTP (RFC 6712 §3.4).
public let cmpMediaType = "application/pkixcmp"

/// PKIMessage (RFC 9810 §5.1): header, body, optional protection and extra certificates.
///
/// A decoded message keeps its header and body bytes, so re-encoding it (and checking its protection) uses exactly
/// what was received until the header or body is changed.
public struct PKIMessage: Sendable, Hashable {
    /// `application/pkixcmp`.
    public static let mediaType = cmpMediaType

    public var header: PKIHeader { didSet { headerDER = OriginalBytes() } }
    public var body: PKIBody { didSet { bodyDER = OriginalBytes() } }
    /// The PKIProtection BIT STRING bytes.
    public var protection: [UInt8]?
    /// DER certificates; empty means absent.
    public var extraCerts: [[UInt8]]
    private var headerDER = OriginalBytes()
    private var bodyDER = OriginalBytes()

    public init(header: PKIHeader, body: PKIBody, protection: [UInt8]? = nil, extraCerts: [[UInt8]] = []) {
        self.header = header
        self.body = body
        self.protection = protection
        self.extraCerts = extraCerts
    }

    /// Decodes a DER PKIMessage.
    public init(derEncoded bytes: [UInt8]) throws(CMPError) {
        self = try decoding("PKIMessage") {
            try DER.sequence(try DER.parse(bytes), identifier: .sequence) { nodes in
                guard let headerNode = nodes.next(), let bodyNode = nodes.next() else {
                    throw CMPError.malformed("PKIMessage lacks header or body")
                }
                var message = PKIMessage(header: try PKIHeader(derEncoded: headerNode), body: try PKIBody(derEncoded: bodyNode))
                message.headerDER = OriginalBytes(Array(headerNode.encodedBytes))
                message.bodyDER = OriginalBytes(Array(bodyNode.encodedBytes))
                message.protection = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { node in
                    let bits = try ASN1BitString(derEncoded: node)
                    guard bits.paddingBits == 0 else { throw CMPError.malformed("protection has padding bits") }
                    return Array(bits.bytes)
                }
                message.extraCerts =
                    try DER.optionalExplicitlyTagged(&nodes, tagNumber: 1, tagClass: .contextSpecific) {
                        try DER.sequence(of: RawElement.self, identifier: .sequence, rootNode: $0).map(\.bytes)
                    } ?? []
                return message
            }
        }
    }

    /// The DER of this message.
    public func serialized() throws -> [UInt8] {
        try derBytes { coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
                try writeProtectedPart(into: &coder)
                if let protection {
                    try coder.serialize(ASN1BitString(bytes: protection[...]), explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific)
                }
                if !extraCerts.isEmpty {
                    try coder.serialize(explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific) { coder in
                        try coder.serializeSequenceOf(extraCerts.map(RawElement.init))
                    }
                }
            }
        }
    }

    /// DER of `ProtectedPart ::= SEQUENCE { header, body }`, the bytes the protection covers.
    public func protectedPartDER() throws -> [UInt8] {
        try derBytes { coder in
            try coder.appendConstructedNode(identifier: .sequence) { try writeProtectedPart(into: &$0) }
        }
    }

    private func writeProtectedPart(into coder: inout DER.Serializer) throws {
        if let bytes = headerDER.bytes { coder.serializeRawBytes(bytes) } else { try coder.serialize(header) }
        if let bytes = bodyDER.bytes { coder.serializeRawBytes(bytes) } else { try body.serialize(into: &coder) }
    }

    /// How a message is protected, as its header's protectionAlg says.
    public enum ProtectionKind: Sendable, Hashable {
        case none
        case passwordBasedMAC
        case signature(Certificate.SignatureAlgorithm)
        /// An algorithm this module does not handle.
        case unsupported(ASN1ObjectIdentifier)
    }

    /// The protection named by `header.protectionAlg` (`.none` when absent or when no protection bits are present).
    public var protectionKind: ProtectionKind {
        guard let algorithm = header.protectionAlg, protection != nil else { return .none }
        if algorithm.algorithm == CMPOID.passwordBasedMAC { return .passwordBasedMAC }
        if let signature = algorithm.signatureAlgorithm { return .signature(signature) }
        return .unsupported(algorithm.algorithm)
    }

    /// Signs the message: sets protectionAlg to `algorithm` (it is part of what is signed, hence given up front)
    /// and the protection to `sign`'s signature over the ProtectedPart DER.
    public mutating func protect(signatureAlgorithm algorithm: AlgorithmIdentifier, signingWith sign: (_ message: [UInt8]) throws -> [UInt8])
        throws
    {
        header.protectionAlg = algorithm
        protection = try sign(try protectedPartDER())
    }

    /// Checks a signature protection with the signer's SubjectPublicKeyInfo DER.
    public func verifySignatureProtection(publicKeyInfoDER: [UInt8]) throws(CMPError) {
        guard case .signature(let algorithm) = protectionKind, let protection else {
            if protectionKind == .none { throw CMPError(.notProtected, "the message is not protected") }
            throw CMPError(.wrongProtectionAlgorithm, "the message is not signature-protected")
        }
        guard let key = try? Certificate.PublicKey(derEncoded: publicKeyInfoDER) else {
            throw CMPError(.invalidArgument, "unusable public key")
        }
        let part: [UInt8]
        do { part = try protectedPartDER() } catch { throw CMPError.malformed("cannot encode the protected part") }
        guard key.isValidSignature(protection, for: part, signatureAlgorithm: algorithm) else {
            throw CMPError(.badSignature, "the protection signature does not verify")
        }
    }
}
