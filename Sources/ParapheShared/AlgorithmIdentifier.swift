import SwiftASN1

/// An AlgorithmIdentifier (RFC 5280): `SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }`.
///
/// Its parameters are kept exactly as received or built (nil when absent). CMP, PKCS#12 and PKCS#8 share it.
public struct AlgorithmIdentifier: DERImplicitlyTaggable, BERImplicitlyTaggable, Hashable, Sendable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var algorithm: ASN1ObjectIdentifier
    public var parameters: ASN1Any?

    public init(algorithm: ASN1ObjectIdentifier, parameters: ASN1Any? = nil) {
        self.algorithm = algorithm
        self.parameters = parameters
    }

    /// An identifier whose parameters are an explicit NULL (as RSA's and, in PKCS#12, the hashes' are written).
    public static func withNull(_ algorithm: ASN1ObjectIdentifier) -> AlgorithmIdentifier {
        // ASN1Null always serializes.
        AlgorithmIdentifier(algorithm: algorithm, parameters: try? ASN1Any(erasing: ASN1Null()))
    }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            let algorithm = try ASN1ObjectIdentifier(derEncoded: &nodes)
            return AlgorithmIdentifier(algorithm: algorithm, parameters: nodes.next().map { ASN1Any(derEncoded: $0) })
        }
    }

    public init(berEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try BER.sequence(node, identifier: identifier) { nodes in
            let algorithm = try ASN1ObjectIdentifier(berEncoded: &nodes)
            return AlgorithmIdentifier(algorithm: algorithm, parameters: nodes.next().map { ASN1Any(berEncoded: $0) })
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(algorithm)
            if let parameters { try coder.serialize(parameters) }
        }
    }

    /// True when the parameters are absent or an explicit NULL (the two forms hash, HMAC and RSA identifiers come in).
    public var hasNoParameters: Bool {
        guard let parameters else { return true }
        return (try? ASN1Null(asn1Any: parameters)) != nil
    }
}
