import CivilTime
import Crypto
import Foundation
import SwiftASN1
import X509

/// An X.509 v2 CRL (RFC 5280 §5) as Paraphe's authority issues it: signed by the CA's P-256 key
/// (ecdsa-with-SHA256), with the CRL number and the authority key identifier, each entry with its
/// reason code.
///
/// The authority encodes it; workstations decode it and check a certificate against it.
public struct CertificateRevocationList: Sendable, Equatable {
    /// One revoked certificate.
    public struct Entry: Sendable, Equatable {
        public var serial: [UInt8]
        public var revokedAt: Date
        public var reason: RevocationReason

        public init(serial: [UInt8], revokedAt: Date, reason: RevocationReason) {
            self.serial = serial
            self.revokedAt = revokedAt
            self.reason = reason
        }
    }

    public var number: Int
    public var thisUpdate: Date
    public var nextUpdate: Date
    public var entries: [Entry]
    /// The whole CRL, DER (set when signed or decoded).
    public private(set) var der: [UInt8]

    static let ecdsaWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]
    static let crlNumber: ASN1ObjectIdentifier = [2, 5, 29, 20]
    static let reasonCode: ASN1ObjectIdentifier = [2, 5, 29, 21]

    /// Builds and signs a CRL for `issuer` (the CA certificate) with its key.
    public static func sign(
        number: Int, thisUpdate: Date, nextUpdate: Date, entries: [Entry], issuer: Certificate, key: P256.Signing.PrivateKey
    ) throws -> CertificateRevocationList {
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(1)  // v2
            try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(ecdsaWithSHA256) }
            try coder.serialize(issuer.subject)
            try serializeTime(thisUpdate, into: &coder)
            try serializeTime(nextUpdate, into: &coder)
            if !entries.isEmpty {
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    for entry in entries {
                        try coder.appendConstructedNode(identifier: .sequence) { coder in
                            try coder.serialize(ArraySlice(entry.serial))
                            try serializeTime(entry.revokedAt, into: &coder)
                            // The reason, unless unspecified (RFC 5280 §5.3.1: then the extension is absent).
                            if entry.reason != .unspecified {
                                try coder.appendConstructedNode(identifier: .sequence) { coder in
                                    try coder.serialize(
                                        Certificate.Extension(oid: reasonCode, critical: false, value: [0x0A, 0x01, UInt8(entry.reason.rawValue)]))
                                }
                            }
                        }
                    }
                }
            }
            try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    if let identifier = try issuer.extensions.subjectKeyIdentifier?.keyIdentifier {
                        try coder.serialize(Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: identifier), critical: false))
                    }
                    var encoded = DER.Serializer()
                    try encoded.serialize(number)
                    try coder.serialize(Certificate.Extension(oid: crlNumber, critical: false, value: ArraySlice(encoded.serializedBytes)))
                }
            }
        }
        let tbsBytes = tbs.serializedBytes
        let signature = try key.signature(for: tbsBytes).derRepresentation
        var whole = DER.Serializer()
        try whole.appendConstructedNode(identifier: .sequence) { coder in
            coder.serializeRawBytes(tbsBytes)
            try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(ecdsaWithSHA256) }
            try coder.serialize(ASN1BitString(bytes: ArraySlice(signature)))
        }
        return CertificateRevocationList(number: number, thisUpdate: thisUpdate, nextUpdate: nextUpdate, entries: entries, der: whole.serializedBytes)
    }

    private init(number: Int, thisUpdate: Date, nextUpdate: Date, entries: [Entry], der: [UInt8]) {
        self.number = number
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
        self.entries = entries
        self.der = der
    }

    /// Decodes a CRL and checks its signature with `issuer`'s key (P-256).
    ///
    /// Throws if it is not a CRL this issuer signed.
    public init(derEncoded bytes: [UInt8], issuer: Certificate) throws {
        let root = try DER.parse(bytes)
        let (tbsBytes, fields, signature) = try DER.sequence(root, identifier: .sequence) { nodes in
            guard let tbs = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no TBSCertList") }
            _ = nodes.next()
            let signature = try ASN1BitString(derEncoded: &nodes)
            let fields = try Self.decodeTBS(tbs)
            return (Array(tbs.encodedBytes), fields, Array(signature.bytes))
        }
        guard let publicKey = P256.Signing.PublicKey(issuer.publicKey),
            let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: signature),
            publicKey.isValidSignature(ecdsa, for: tbsBytes)
        else { throw ASN1Error.invalidASN1Object(reason: "the CRL's signature does not verify with the CA's key") }
        guard fields.issuer == issuer.subject else { throw ASN1Error.invalidASN1Object(reason: "the CRL's issuer is not the CA") }
        self.init(number: fields.number, thisUpdate: fields.thisUpdate, nextUpdate: fields.nextUpdate, entries: fields.entries, der: bytes)
    }

    /// Decodes the PEM form (`-----BEGIN X509 CRL-----`).
    public init(pemEncoded text: String, issuer: Certificate) throws {
        let document = try PEMDocument(pemString: text)
        guard document.discriminator == "X509 CRL" else { throw ASN1Error.invalidASN1Object(reason: "not an X509 CRL") }
        try self.init(derEncoded: document.derBytes, issuer: issuer)
    }

    /// `-----BEGIN X509 CRL-----`.
    public var pem: String { PEMDocument(type: "X509 CRL", derBytes: der).pemString + "\n" }

    /// The entry for a certificate serial number, if it is revoked.
    public func entry(for serial: [UInt8]) -> Entry? { entries.first { $0.serial == serial } }

    private struct Fields {
        var issuer: DistinguishedName
        var thisUpdate: Date
        var nextUpdate: Date
        var entries: [Entry] = []
        var number = 0
    }

    private static func decodeTBS(_ node: ASN1Node) throws -> Fields {
        try DER.sequence(node, identifier: .sequence) { nodes in
            var next = nodes.next()
            if let version = next, version.identifier == .integer { next = nodes.next() }  // v2
            // signature AlgorithmIdentifier
            guard next != nil, let issuerNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "short TBSCertList") }
            let issuer = try DistinguishedName(derEncoded: issuerNode)
            guard let thisNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no thisUpdate") }
            var fields = Fields(issuer: issuer, thisUpdate: try decodeTime(thisNode), nextUpdate: .distantFuture)
            var node = nodes.next()
            if let current = node, current.identifier == .utcTime || current.identifier == .generalizedTime {
                fields.nextUpdate = try decodeTime(current)
                node = nodes.next()
            }
            if let current = node, current.identifier == .sequence {
                fields.entries = try DER.sequence(current, identifier: .sequence) { entries in
                    var decoded: [Entry] = []
                    while let entry = entries.next() { decoded.append(try decodeEntry(entry)) }
                    return decoded
                }
                node = nodes.next()
            }
            if let current = node, current.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                fields.number = try DER.explicitlyTagged(current, tagNumber: 0, tagClass: .contextSpecific) { inner in
                    let extensions = try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: inner)
                    guard let number = extensions.first(where: { $0.oid == crlNumber }) else { return 0 }
                    return try Int(derEncoded: number.value)
                }
            }
            return fields
        }
    }

    private static func decodeEntry(_ node: ASN1Node) throws -> Entry {
        try DER.sequence(node, identifier: .sequence) { nodes in
            let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
            guard let timeNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no revocationDate") }
            var reason = RevocationReason.unspecified
            if let extensionsNode = nodes.next() {
                let extensions = try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: extensionsNode)
                if let code = extensions.first(where: { $0.oid == reasonCode }), code.value.count == 3,
                    let value = RevocationReason(rawValue: Int(code.value[code.value.startIndex + 2]))
                {
                    reason = value
                }
            }
            return Entry(serial: Array(serial), revokedAt: try decodeTime(timeNode), reason: reason)
        }
    }

    private static func serializeTime(_ date: Date, into coder: inout DER.Serializer) throws {
        let time = UTCDateTime(date)
        let (year, month, day, hour, minute, second) = (time.year, time.month, time.day, time.hour, time.minute, time.second)
        // RFC 5280 §5.1.2.4: UTCTime through 2049, GeneralizedTime after.
        if year < 2050 {
            try coder.serialize(UTCTime(year: year, month: month, day: day, hours: hour, minutes: minute, seconds: second))
        } else {
            try coder.serialize(
                GeneralizedTime(year: year, month: month, day: day, hours: hour, minutes: minute, seconds: second, fractionalSeconds: 0))
        }
    }

    private static func decodeTime(_ node: ASN1Node) throws -> Date {
        let parts: (Int, Int, Int, Int, Int, Int)
        if node.identifier == .utcTime {
            let time = try UTCTime(derEncoded: node)
            parts = (time.year, time.month, time.day, time.hours, time.minutes, time.seconds)
        } else {
            let time = try GeneralizedTime(derEncoded: node)
            parts = (time.year, time.month, time.day, time.hours, time.minutes, time.seconds)
        }
        guard let time = UTCDateTime(year: parts.0, month: parts.1, day: parts.2, hour: parts.3, minute: parts.4, second: parts.5) else {
            throw ASN1Error.invalidASN1Object(reason: "bad time")
        }
        return time.date
    }
}

/// RFC 5280 §5.3.1 CRLReason (the values Paraphe uses).
public enum RevocationReason: Int, Sendable, CaseIterable, Equatable {
    case unspecified = 0
    case keyCompromise = 1
    case affiliationChanged = 3
    case superseded = 4
    case cessationOfOperation = 5
    case certificateHold = 6
    case privilegeWithdrawn = 9

    /// The names `--reason` takes (RFC 5280's, as OpenSSL spells them).
    public var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .keyCompromise: "keyCompromise"
        case .affiliationChanged: "affiliationChanged"
        case .superseded: "superseded"
        case .cessationOfOperation: "cessationOfOperation"
        case .certificateHold: "certificateHold"
        case .privilegeWithdrawn: "privilegeWithdrawn"
        }
    }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name.lowercased() == name.lowercased() }) else { return nil }
        self = match
    }
}
