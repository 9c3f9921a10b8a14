import CivilTime
import Foundation
import ParapheShared
import SwiftASN1

/// Object identifiers this module reads or writes.
enum CMPOID {
    static let passwordBasedMAC: ASN1ObjectIdentifier = [1, 2, 840, 113533, 7, 66, 13]
    static let implicitConfirm: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 4, 13]
    static let sha1: ASN1ObjectIdentifier = [1, 3, 14, 3, 2, 26]
    static let sha256: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 1]
    static let sha384: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 2]
    static let sha512: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 3]
    static let hmacSHA1: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 8, 1, 2]
    static let hmacWithSHA1: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 7]
    static let hmacWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 9]
    static let hmacWithSHA384: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 10]
    static let hmacWithSHA512: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 11]
    static let ecdsaWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]
    static let ecdsaWithSHA384: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 3]
    static let ecdsaWithSHA512: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 4]
    static let sha1WithRSA: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 5]
    static let sha256WithRSA: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 11]
    static let sha384WithRSA: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 12]
    static let sha512WithRSA: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 13]
    static let ed25519: ASN1ObjectIdentifier = [1, 3, 101, 112]
    static let crlReason: ASN1ObjectIdentifier = [2, 5, 29, 21]
}

extension AlgorithmIdentifier {
    /// Decodes an AlgorithmIdentifier from its DER.
    public init(derEncoded bytes: [UInt8]) throws(CMPError) {
        self = try decoding("AlgorithmIdentifier") { try AlgorithmIdentifier(derEncoded: try DER.parse(bytes)) }
    }

    /// The DER of this AlgorithmIdentifier.
    public func derEncoded() throws -> [UInt8] { try derBytes(self) }
}

/// A DER element kept exactly as received (or as built), written back byte for byte.
struct RawElement: DERParseable, DERSerializable {
    var bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    init(derEncoded node: ASN1Node) throws { bytes = Array(node.encodedBytes) }
    func serialize(into coder: inout DER.Serializer) throws { coder.serializeRawBytes(bytes) }
}

extension DER.Serializer {
    /// Writes a constructed universal element (given as DER) under an IMPLICIT context tag, keeping its contents.
    mutating func serialize(der bytes: [UInt8], implicitlyTaggedWith tagNumber: UInt) throws {
        let node = try DER.parse(bytes)
        guard case .constructed(let children) = node.content else {
            throw CMPError.malformed("expected a constructed element to retag")
        }
        appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: tagNumber, tagClass: .contextSpecific)) { coder in
            for child in children { coder.serialize(child) }
        }
    }

    /// Writes DER bytes under an EXPLICIT context tag.
    mutating func serialize(der bytes: [UInt8], explicitlyTaggedWith tagNumber: UInt) {
        appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: tagNumber, tagClass: .contextSpecific)) { coder in
            coder.serializeRawBytes(bytes)
        }
    }
}

extension ASN1Node {
    /// The DER of this constructed node's contents re-wrapped as a universal SEQUENCE (undoing an IMPLICIT tag).
    func contentsAsSequence() throws -> [UInt8] {
        guard case .constructed(let children) = content else {
            throw CMPError.malformed("expected a constructed element")
        }
        return derBytes { coder in
            coder.appendConstructedNode(identifier: .sequence) { coder in
                for child in children { coder.serialize(child) }
            }
        }
    }

    /// The single child of an EXPLICIT tag.
    func explicitChild() throws -> ASN1Node {
        guard case .constructed(let children) = content else { throw CMPError.malformed("explicit tag is primitive") }
        var iterator = children.makeIterator()
        guard let child = iterator.next(), iterator.next() == nil else {
            throw CMPError.malformed("explicit tag must hold one element")
        }
        return child
    }
}

/// PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String.
enum FreeText {
    static func decode(_ node: ASN1Node) throws -> [String] {
        try DER.sequence(of: ASN1UTF8String.self, identifier: .sequence, rootNode: node).map { String($0) }
    }

    static func serialize(_ strings: [String], into coder: inout DER.Serializer) throws {
        try coder.serializeSequenceOf(strings.map { ASN1UTF8String($0) })
    }
}

/// GeneralizedTime ⇄ Date in UTC, whole seconds.
enum Time {
    static func generalizedTime(_ date: Date) throws -> GeneralizedTime {
        let time = UTCDateTime(date)
        return try GeneralizedTime(
            year: time.year, month: time.month, day: time.day, hours: time.hour, minutes: time.minute, seconds: time.second, fractionalSeconds: 0)
    }

    static func date(_ time: GeneralizedTime) -> Date {
        Date(
            timeIntervalSince1970: UTCDateTime.secondsSince1970(
                year: time.year, month: time.month, day: time.day, hour: time.hours, minute: time.minutes, second: time.seconds)
                + time.fractionalSeconds)
    }
}

extension ASN1Identifier {
    static func context(_ number: UInt) -> ASN1Identifier { ASN1Identifier(tagWithNumber: number, tagClass: .contextSpecific) }
}
