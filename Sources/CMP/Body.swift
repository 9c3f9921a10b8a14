import SwiftASN1

/// CertReqMessages ::= SEQUENCE SIZE (1..MAX) OF CertReqMsg.
public typealias CertReqMessages = [CertReqMsg]

/// PKIBody (RFC 9810 §5.1.2): a CHOICE of EXPLICIT context tags; bodies this module does not model are kept raw.
public enum PKIBody: Sendable, Hashable {
    case ir(CertReqMessages)
    case ip(CertRepMessage)
    case cr(CertReqMessages)
    case cp(CertRepMessage)
    /// A PKCS#10 CertificationRequest, DER.
    case p10cr([UInt8])
    case kur(CertReqMessages)
    case kup(CertRepMessage)
    case rr([RevDetails])
    case rp(RevRepContent)
    case pkiConf
    case error(ErrorMsgContent)
    case certConf([CertStatus])
    /// Any other body: its tag number and the DER inside the explicit tag, written back unchanged.
    case other(tag: UInt, der: [UInt8])

    /// The context tag number of this body.
    public var tag: UInt {
        switch self {
        case .ir: 0
        case .ip: 1
        case .cr: 2
        case .cp: 3
        case .p10cr: 4
        case .kur: 7
        case .kup: 8
        case .rr: 11
        case .rp: 12
        case .pkiConf: 19
        case .error: 23
        case .certConf: 24
        case .other(let tag, _): tag
        }
    }

    /// A short name for logs ("ir", "ip", …, or "body[21]").
    public var name: String {
        let names: [UInt: String] = [
            0: "ir", 1: "ip", 2: "cr", 3: "cp", 4: "p10cr", 5: "popdecc", 6: "popdecr", 7: "kur", 8: "kup", 9: "krr",
            10: "krp", 11: "rr", 12: "rp", 13: "ccr", 14: "ccp", 15: "ckuann", 16: "cann", 17: "rann", 18: "crlann",
            19: "pkiconf", 20: "nested", 21: "genm", 22: "genp", 23: "error", 24: "certConf", 25: "pollReq", 26: "pollRep",
        ]
        return names[tag] ?? "body[\(tag)]"
    }

    init(derEncoded node: ASN1Node) throws {
        guard node.identifier.tagClass == .contextSpecific else { throw CMPError.malformed("PKIBody is not context-tagged") }
        let inner = try node.explicitChild()
        func requests() throws -> [CertReqMsg] {
            let list = try DER.sequence(of: CertReqMsg.self, identifier: .sequence, rootNode: inner)
            guard !list.isEmpty else { throw CMPError.malformed("empty CertReqMessages") }
            return list
        }
        switch node.identifier.tagNumber {
        case 0: self = .ir(try requests())
        case 1: self = .ip(try CertRepMessage(derEncoded: inner))
        case 2: self = .cr(try requests())
        case 3: self = .cp(try CertRepMessage(derEncoded: inner))
        case 4:
            guard inner.identifier == .sequence else { throw CMPError.malformed("p10cr is not a SEQUENCE") }
            self = .p10cr(Array(inner.encodedBytes))
        case 7: self = .kur(try requests())
        case 8: self = .kup(try CertRepMessage(derEncoded: inner))
        case 11: self = .rr(try DER.sequence(of: RevDetails.self, identifier: .sequence, rootNode: inner))
        case 12: self = .rp(try RevRepContent(derEncoded: inner))
        case 19:
            _ = try ASN1Null(derEncoded: inner)
            self = .pkiConf
        case 23: self = .error(try ErrorMsgContent(derEncoded: inner))
        case 24: self = .certConf(try DER.sequence(of: CertStatus.self, identifier: .sequence, rootNode: inner))
        case let tag: self = .other(tag: tag, der: Array(inner.encodedBytes))
        }
    }

    func serialize(into coder: inout DER.Serializer) throws {
        try coder.serialize(explicitlyTaggedWithTagNumber: tag, tagClass: .contextSpecific) { coder in
            switch self {
            case .ir(let list), .cr(let list), .kur(let list): try coder.serializeSequenceOf(list)
            case .ip(let rep), .cp(let rep), .kup(let rep): try coder.serialize(rep)
            case .p10cr(let der), .other(_, let der): coder.serializeRawBytes(der)
            case .rr(let list): try coder.serializeSequenceOf(list)
            case .rp(let content): try coder.serialize(content)
            case .pkiConf: try coder.serialize(ASN1Null())
            case .error(let content): try coder.serialize(content)
            case .certConf(let list): try coder.serializeSequenceOf(list)
            }
        }
    }
}
