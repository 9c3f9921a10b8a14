import SwiftASN1

/// Hexadecimal text of bytes: the one formatter of serial numbers, fingerprints and file suffixes.
public enum Hex {
    /// "0a1b…".
    public static func lowercase<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        String(decoding: bytes.flatMap { pair($0, digits: lowerDigits) }, as: UTF8.self)
    }

    /// "0A1B…".
    public static func uppercase<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        String(decoding: bytes.flatMap { pair($0, digits: upperDigits) }, as: UTF8.self)
    }

    /// "0A:1B:…", as people compare fingerprints and serial numbers.
    public static func colons<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.map { String(decoding: pair($0, digits: upperDigits), as: UTF8.self) }.joined(separator: ":")
    }

    private static let lowerDigits = Array("0123456789abcdef".utf8)
    private static let upperDigits = Array("0123456789ABCDEF".utf8)

    private static func pair(_ byte: UInt8, digits: [UInt8]) -> [UInt8] {
        [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
    }
}

/// Compares two byte strings in time independent of where they differ (the length is not secret).
public func constantTimeEqual(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
    return difference == 0
}

/// The DER of one serializable value.
public func derBytes<T: DERSerializable>(_ value: T) throws -> [UInt8] {
    var coder = DER.Serializer()
    try coder.serialize(value)
    return coder.serializedBytes
}

/// The DER built by a closure.
public func derBytes(_ build: (inout DER.Serializer) throws -> Void) rethrows -> [UInt8] {
    var coder = DER.Serializer()
    try build(&coder)
    return coder.serializedBytes
}
