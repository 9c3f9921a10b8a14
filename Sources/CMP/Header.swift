import Foundation
import ParapheShared
import SwiftASN1
import X509

/// InfoTypeAndValue: an OID and its optional value kept as raw DER (used in generalInfo, genm and genp).
public struct InfoTypeAndValue: Sendable, Hashable, DERImplicitlyTaggable {
    public var infoType: ASN1ObjectIdentifier
    /// DER of the value, or nil when absent.
    public var infoValue: [UInt8]?

    public init(infoType: ASN1ObjectIdentifier, infoValue: [UInt8]? = nil) {
        self.infoType = infoType
        self.infoValue = infoValue
    }

    /// implicitConfirm (id-it 13) with its NULL value.
    public static let implicitConfirm = InfoTypeAndValue(infoType: CMPOID.implicitConfirm, infoValue: [0x05, 0x00])

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            InfoTypeAndValue(infoType: try ASN1ObjectIdentifier(derEncoded: &nodes), infoValue: nodes.next().map { Array($0.encodedBytes) })
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(infoType)
            if let infoValue { coder.serializeRawBytes(infoValue) }
        }
    }
}

/// PKIHeader (RFC 9810 §5.1.1); sender and recipient are GeneralName DER.
public struct PKIHeader: Sendable, Hashable, DERImplicitlyTaggable {
    /// 2 (cmp2000) or 3 (cmp2021).
    public var pvno: Int
    public var sender: [UInt8]
    public var recipient: [UInt8]
    public var messageTime: Date?
    public var protectionAlg: AlgorithmIdentifier?
    public var senderKID: [UInt8]?
    public var recipKID: [UInt8]?
    public var transactionID: [UInt8]?
    public var senderNonce: [UInt8]?
    public var recipNonce: [UInt8]?
    /// PKIFreeText; empty means absent.
    public var freeText: [String]
    public var generalInfo: [InfoTypeAndValue]

    public init(
        pvno: Int = 2, sender: [UInt8] = PKIHeader.nullDN, recipient: [UInt8] = PKIHeader.nullDN, messageTime: Date? = nil,
        protectionAlg: AlgorithmIdentifier? = nil, senderKID: [UInt8]? = nil, recipKID: [UInt8]? = nil,
        transactionID: [UInt8]? = nil, senderNonce: [UInt8]? = nil, recipNonce: [UInt8]? = nil, freeText: [String] = [],
        generalInfo: [InfoTypeAndValue] = []
    ) {
        self.pvno = pvno
        self.sender = sender
        self.recipient = recipient
        self.messageTime = messageTime
        self.protectionAlg = protectionAlg
        self.senderKID = senderKID
        self.recipKID = recipKID
        self.transactionID = transactionID
        self.senderNonce = senderNonce
        self.recipNonce = recipNonce
        self.freeText = freeText
        self.generalInfo = generalInfo
    }

    /// The GeneralName `directoryName` holding the empty DN (the "NULL-DN").
    public static let nullDN: [UInt8] = [0xA4, 0x02, 0x30, 0x00]

    /// The DER of a GeneralName `directoryName` for `name`.
    public static func directoryName(_ name: DistinguishedName) throws -> [UInt8] {
        try derBytes(GeneralName.directoryName(name))
    }

    /// The DN inside a `directoryName` GeneralName, or nil for any other kind of name.
    public static func distinguishedName(of generalName: [UInt8]) -> DistinguishedName? {
        guard case .directoryName(let name)? = try? GeneralName(derEncoded: generalName) else { return nil }
        return name
    }

    /// The header of an answer to a message with this header: the same pvno and transactionID, sender and
    /// recipient swapped, recipKID = its senderKID and recipNonce = its senderNonce.
    public func reply(senderNonce: [UInt8], messageTime: Date? = nil, senderKID: [UInt8]? = nil) -> PKIHeader {
        PKIHeader(
            pvno: pvno, sender: recipient, recipient: sender, messageTime: messageTime, senderKID: senderKID,
            recipKID: self.senderKID, transactionID: transactionID, senderNonce: senderNonce, recipNonce: self.senderNonce)
    }

    /// Whether generalInfo holds implicitConfirm.
    public var hasImplicitConfirm: Bool { generalInfo.contains { $0.infoType == CMPOID.implicitConfirm } }

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            let pvno = try Int(derEncoded: &nodes)
            guard pvno == 2 || pvno == 3 else { throw CMPError(.unsupportedVersion, "unsupported pvno \(pvno)") }
            guard let sender = nodes.next(), let recipient = nodes.next(),
                sender.identifier.tagClass == .contextSpecific, recipient.identifier.tagClass == .contextSpecific
            else { throw CMPError.malformed("bad sender or recipient") }
            var header = PKIHeader(pvno: pvno, sender: Array(sender.encodedBytes), recipient: Array(recipient.encodedBytes))
            func octets(_ node: ASN1Node) throws -> [UInt8] { Array(try ASN1OctetString(derEncoded: node).bytes) }
            var last = -1
            while let field = nodes.next() {
                guard field.identifier.tagClass == .contextSpecific, Int(field.identifier.tagNumber) > last else {
                    throw CMPError.malformed("PKIHeader fields out of order")
                }
                last = Int(field.identifier.tagNumber)
                let child = try field.explicitChild()
                switch field.identifier.tagNumber {
                case 0: header.messageTime = Time.date(try GeneralizedTime(derEncoded: child))
                case 1: header.protectionAlg = try AlgorithmIdentifier(derEncoded: child)
                case 2: header.senderKID = try octets(child)
                case 3: header.recipKID = try octets(child)
                case 4: header.transactionID = try octets(child)
                case 5: header.senderNonce = try octets(child)
                case 6: header.recipNonce = try octets(child)
                case 7: header.freeText = try FreeText.decode(child)
                case 8: header.generalInfo = try DER.sequence(of: InfoTypeAndValue.self, identifier: .sequence, rootNode: child)
                default: throw CMPError.malformed("unknown PKIHeader field")
                }
            }
            return header
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(pvno)
            coder.serializeRawBytes(sender)
            coder.serializeRawBytes(recipient)
            func octets(_ value: [UInt8]?, _ tag: UInt) throws {
                guard let value else { return }
                try coder.serialize(ASN1OctetString(contentBytes: value[...]), explicitlyTaggedWithTagNumber: tag, tagClass: .contextSpecific)
            }
            if let messageTime {
                try coder.serialize(try Time.generalizedTime(messageTime), explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific)
            }
            if let protectionAlg { try coder.serialize(protectionAlg, explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific) }
            try octets(senderKID, 2)
            try octets(recipKID, 3)
            try octets(transactionID, 4)
            try octets(senderNonce, 5)
            try octets(recipNonce, 6)
            if !freeText.isEmpty {
                try coder.serialize(explicitlyTaggedWithTagNumber: 7, tagClass: .contextSpecific) { try FreeText.serialize(freeText, into: &$0) }
            }
            if !generalInfo.isEmpty {
                try coder.serialize(explicitlyTaggedWithTagNumber: 8, tagClass: .contextSpecific) { try $0.serializeSequenceOf(generalInfo) }
            }
        }
    }
}
