import SwiftASN1

/// Object identifiers used by PKCS#5, PKCS#8 and PKCS#12.
enum OID {
    // PKCS#7 content types
    static let data: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 1]
    static let signedData: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 2]
    static let envelopedData: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 3]
    static let encryptedData: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 6]

    // PKCS#12 bag types
    static let keyBag: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 12, 10, 1, 1]
    static let pkcs8ShroudedKeyBag: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 12, 10, 1, 2]
    static let certBag: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 12, 10, 1, 3]
    static let safeContentsBag: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 12, 10, 1, 6]
    static let x509Certificate: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 22, 1]

    // PKCS#9 attributes
    static let friendlyName: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 20]
    static let localKeyID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 21]

    // PKCS#5
    static let pbes2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 5, 13]
    static let pbkdf2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 5, 12]
    static let pbmac1: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 5, 14]
    static let hmacWithSHA1: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 7]
    static let hmacWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 9]
    static let aes128CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 2]
    static let aes192CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 22]
    static let aes256CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 42]
    static let desEDE3CBC: ASN1ObjectIdentifier = [1, 2, 840, 113549, 3, 7]
    static let rc2CBC: ASN1ObjectIdentifier = [1, 2, 840, 113549, 3, 2]

    // Digests
    static let sha1: ASN1ObjectIdentifier = [1, 3, 14, 3, 2, 26]
    static let sha256: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 1]

    // Keys
    static let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 1]
    static let ecPublicKey: ASN1ObjectIdentifier = [1, 2, 840, 10045, 2, 1]
    static let prime256v1: ASN1ObjectIdentifier = [1, 2, 840, 10045, 3, 1, 7]

    /// PKCS#12 legacy PBE (pkcs-12PbeIds, 1.2.840.113549.1.12.1.x) and PKCS#5 v1.5 PBES1 (1.2.840.113549.1.5.x).
    static func legacyPBEName(_ oid: ASN1ObjectIdentifier) -> String? {
        let names: [ASN1ObjectIdentifier: String] = [
            [1, 2, 840, 113549, 1, 12, 1, 1]: "pbeWithSHAAnd128BitRC4",
            [1, 2, 840, 113549, 1, 12, 1, 2]: "pbeWithSHAAnd40BitRC4",
            [1, 2, 840, 113549, 1, 12, 1, 3]: "pbeWithSHAAnd3-KeyTripleDES-CBC",
            [1, 2, 840, 113549, 1, 12, 1, 4]: "pbeWithSHAAnd2-KeyTripleDES-CBC",
            [1, 2, 840, 113549, 1, 12, 1, 5]: "pbeWithSHAAnd128BitRC2-CBC",
            [1, 2, 840, 113549, 1, 12, 1, 6]: "pbeWithSHAAnd40BitRC2-CBC",
            [1, 2, 840, 113549, 1, 5, 1]: "pbeWithMD2AndDES-CBC",
            [1, 2, 840, 113549, 1, 5, 3]: "pbeWithMD5AndDES-CBC",
            [1, 2, 840, 113549, 1, 5, 4]: "pbeWithMD2AndRC2-CBC",
            [1, 2, 840, 113549, 1, 5, 6]: "pbeWithMD5AndRC2-CBC",
            [1, 2, 840, 113549, 1, 5, 10]: "pbeWithSHA1AndDES-CBC",
            [1, 2, 840, 113549, 1, 5, 11]: "pbeWithSHA1AndRC2-CBC",
        ]
        return names[oid]
    }
}

enum ASN1Support {
    /// Serializes a single element to DER bytes.
    static func serialize(_ body: (inout DER.Serializer) throws -> Void) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try body(&serializer)
        return serializer.serializedBytes
    }

    /// Big-endian UTF-16 bytes of `string` (BMPString contents; characters outside the BMP become surrogate pairs, as OpenSSL does).
    static func bmpBytes(_ string: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(string.utf16.count * 2)
        for unit in string.utf16 {
            bytes.append(UInt8(truncatingIfNeeded: unit >> 8))
            bytes.append(UInt8(truncatingIfNeeded: unit))
        }
        return bytes
    }

    /// Decodes big-endian UTF-16 BMPString contents.
    static func string(fromBMP bytes: ArraySlice<UInt8>) throws(KeystoreError) -> String {
        guard bytes.count % 2 == 0 else { throw .malformed("BMPString has an odd length") }
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            units.append(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]))
            index += 2
        }
        return String(decoding: units, as: UTF16.self)
    }

    /// DER SET OF ordering (X.690 11.6): compare encodings as octet strings, the shorter padded with zeros.
    static func setOrder(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        let count = max(lhs.count, rhs.count)
        for index in 0..<count {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            if left != right { return left < right }
        }
        return false
    }

    /// Reads an OCTET STRING's contents (primitive or BER-constructed).
    static func octets(_ node: ASN1Node) throws -> ArraySlice<UInt8> {
        try ASN1OctetString(berEncoded: node).bytes
    }
}
