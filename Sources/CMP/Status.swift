import Crypto
import ParapheShared
import SwiftASN1

/// PKIStatus (RFC 9810 §5.2.3).
public enum PKIStatus: Int, Sendable, Hashable {
    case accepted = 0
    case grantedWithMods = 1
    case rejection = 2
    case waiting = 3
    case revocationWarning = 4
    case revocationNotification = 5
    case keyUpdateWarning = 6
}

/// PKIFailureInfo, the BIT STRING of failure reasons (RFC 9810 §5.2.3); bit n is `1 << n`.
public struct PKIFailureInfo: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The set holding bit number `bit` alone.
    public init(bit: Int) { self.rawValue = bit >= 0 && bit < 32 ? 1 << UInt32(bit) : 0 }

    public static let badAlg = Self(bit: 0)
    public static let badMessageCheck = Self(bit: 1)
    public static let badRequest = Self(bit: 2)
    public static let badTime = Self(bit: 3)
    public static let badCertId = Self(bit: 4)
    public static let badDataFormat = Self(bit: 5)
    public static let wrongAuthority = Self(bit: 6)
    public static let incorrectData = Self(bit: 7)
    public static let missingTimeStamp = Self(bit: 8)
    public static let badPOP = Self(bit: 9)
    public static let certRevoked = Self(bit: 10)
    public static let certConfirmed = Self(bit: 11)
    public static let wrongIntegrity = Self(bit: 12)
    public static let badRecipientNonce = Self(bit: 13)
    public static let timeNotAvailable = Self(bit: 14)
    public static let unacceptedPolicy = Self(bit: 15)
    public static let unacceptedExtension = Self(bit: 16)
    public static let addInfoNotAvailable = Self(bit: 17)
    public static let badSenderNonce = Self(bit: 18)
    public static let badCertTemplate = Self(bit: 19)
    public static let signerNotTrusted = Self(bit: 20)
    public static let transactionIdInUse = Self(bit: 21)
    public static let unsupportedVersion = Self(bit: 22)
    public static let notAuthorized = Self(bit: 23)
    public static let systemUnavail = Self(bit: 24)
    public static let systemFailure = Self(bit: 25)
    public static let duplicateCertReq = Self(bit: 26)

    /// DER named-bit-list BIT STRING: bit 0 is the first byte's high bit, trailing zero bits dropped.
    var bitString: ASN1BitString {
        guard rawValue != 0 else { return ASN1BitString(bytes: []) }
        let highest = 31 - rawValue.leadingZeroBitCount
        var bytes = [UInt8](repeating: 0, count: highest / 8 + 1)
        for bit in 0...highest where rawValue & (1 << UInt32(bit)) != 0 {
            bytes[bit / 8] |= 0x80 >> UInt8(bit % 8)
        }
        return ASN1BitString(bytes: bytes[...], paddingBits: 7 - highest % 8)
    }

    init(bitString: ASN1BitString) {
        var value: UInt32 = 0
        for (index, byte) in bitString.bytes.enumerated() where index < 4 {
            for bit in 0..<8 where byte & (0x80 >> UInt8(bit)) != 0 { value |= 1 << UInt32(index * 8 + bit) }
        }
        self.rawValue = value
    }
}

/// PKIStatusInfo: a status, optional free text and optional failure bits.
public struct PKIStatusInfo: Sendable, Hashable, DERImplicitlyTaggable {
    public var status: PKIStatus
    /// PKIFreeText; empty means absent.
    public var statusString: [String]
    public var failInfo: PKIFailureInfo?

    public init(status: PKIStatus, statusString: [String] = [], failInfo: PKIFailureInfo? = nil) {
        self.status = status
        self.statusString = statusString
        self.failInfo = failInfo
    }

    public static let accepted = PKIStatusInfo(status: .accepted)

    /// A rejection with the given failure bits and text.
    public static func rejection(_ failInfo: PKIFailureInfo, _ text: String? = nil) -> PKIStatusInfo {
        PKIStatusInfo(status: .rejection, statusString: text.map { [$0] } ?? [], failInfo: failInfo)
    }

    /// True for accepted and grantedWithMods.
    public var isPositive: Bool { status == .accepted || status == .grantedWithMods }

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            let raw = try Int(derEncoded: &nodes)
            guard let status = PKIStatus(rawValue: raw) else { throw CMPError.malformed("unknown PKIStatus \(raw)") }
            var strings: [String] = []
            var failInfo: PKIFailureInfo?
            while let node = nodes.next() {
                if node.identifier == .sequence, strings.isEmpty, failInfo == nil {
                    strings = try FreeText.decode(node)
                } else if node.identifier == .bitString, failInfo == nil {
                    failInfo = PKIFailureInfo(bitString: try ASN1BitString(derEncoded: node))
                } else {
                    throw CMPError.malformed("unexpected field in PKIStatusInfo")
                }
            }
            return PKIStatusInfo(status: status, statusString: strings, failInfo: failInfo)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(status.rawValue)
            if !statusString.isEmpty { try FreeText.serialize(statusString, into: &coder) }
            if let failInfo { try coder.serialize(failInfo.bitString) }
        }
    }
}

/// ErrorMsgContent: the body of an `error` message.
public struct ErrorMsgContent: Sendable, Hashable, DERImplicitlyTaggable {
    public var pkiStatusInfo: PKIStatusInfo
    public var errorCode: Int?
    /// PKIFreeText; empty means absent.
    public var errorDetails: [String]

    public init(pkiStatusInfo: PKIStatusInfo, errorCode: Int? = nil, errorDetails: [String] = []) {
        self.pkiStatusInfo = pkiStatusInfo
        self.errorCode = errorCode
        self.errorDetails = errorDetails
    }

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            let info = try PKIStatusInfo(derEncoded: &nodes)
            var code: Int?
            var details: [String] = []
            while let node = nodes.next() {
                if node.identifier == .integer, code == nil, details.isEmpty {
                    code = try Int(derEncoded: node)
                } else if node.identifier == .sequence, details.isEmpty {
                    details = try FreeText.decode(node)
                } else {
                    throw CMPError.malformed("unexpected field in ErrorMsgContent")
                }
            }
            return ErrorMsgContent(pkiStatusInfo: info, errorCode: code, errorDetails: details)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(pkiStatusInfo)
            if let errorCode { try coder.serialize(errorCode) }
            if !errorDetails.isEmpty { try FreeText.serialize(errorDetails, into: &coder) }
        }
    }
}

/// CertStatus: one entry of a `certConf` (RFC 9810 §5.3.18).
public struct CertStatus: Sendable, Hashable, DERImplicitlyTaggable {
    public var certHash: [UInt8]
    public var certReqId: Int
    public var statusInfo: PKIStatusInfo?
    /// hashAlg [0] (cmp2021): the hash used for `certHash` when given.
    public var hashAlg: AlgorithmIdentifier?

    public init(certHash: [UInt8], certReqId: Int, statusInfo: PKIStatusInfo? = nil, hashAlg: AlgorithmIdentifier? = nil) {
        self.certHash = certHash
        self.certReqId = certReqId
        self.statusInfo = statusInfo
        self.hashAlg = hashAlg
    }

    /// The certHash of a certificate as RFC 9810 §5.3.18 and OpenSSL compute it: the hash of the certificate's
    /// signature algorithm (SHA-256/384/512; SHA-512 for Ed25519; MD5 and SHA-1 upgraded to SHA-256).
    public static func certHash(of certificateDER: [UInt8]) throws(CMPError) -> [UInt8] {
        let signatureAlgorithm = try decoding("certificate") { () throws -> ASN1ObjectIdentifier in
            let root = try DER.parse(certificateDER)
            return try DER.sequence(root, identifier: .sequence) { nodes in
                _ = nodes.next()
                let algorithm = try AlgorithmIdentifier(derEncoded: &nodes)
                _ = nodes.next()
                return algorithm.algorithm
            }
        }
        switch signatureAlgorithm {
        case CMPOID.ecdsaWithSHA384, CMPOID.sha384WithRSA: return Array(SHA384.hash(data: certificateDER))
        case CMPOID.ecdsaWithSHA512, CMPOID.sha512WithRSA, CMPOID.ed25519: return Array(SHA512.hash(data: certificateDER))
        default: return Array(SHA256.hash(data: certificateDER))
        }
    }

    /// Whether `certHash` is the hash of `certificateDER` (by `hashAlg` when present), compared in constant time.
    public func matches(certificateDER: [UInt8]) -> Bool {
        let expected: [UInt8]
        if let hashAlg {
            switch hashAlg.algorithm {
            case CMPOID.sha256: expected = Array(SHA256.hash(data: certificateDER))
            case CMPOID.sha384: expected = Array(SHA384.hash(data: certificateDER))
            case CMPOID.sha512: expected = Array(SHA512.hash(data: certificateDER))
            default: return false
            }
        } else {
            guard let hash = try? CertStatus.certHash(of: certificateDER) else { return false }
            expected = hash
        }
        return constantTimeEqual(expected, certHash)
    }

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public init(derEncoded node: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(node, identifier: identifier) { nodes in
            let hash = try ASN1OctetString(derEncoded: &nodes).bytes
            let id = try Int(derEncoded: &nodes)
            let info: PKIStatusInfo? = try DER.optionalImplicitlyTagged(&nodes)
            let alg = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) {
                try AlgorithmIdentifier(derEncoded: $0)
            }
            return CertStatus(certHash: Array(hash), certReqId: id, statusInfo: info, hashAlg: alg)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.serialize(ASN1OctetString(contentBytes: certHash[...]))
            try coder.serialize(certReqId)
            if let statusInfo { try coder.serialize(statusInfo) }
            if let hashAlg { try coder.serialize(hashAlg, explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) }
        }
    }
}
