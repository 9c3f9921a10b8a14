import AuthorityInterface
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A range of addresses as an operator writes it: `10.0.0.0/8`, `2001:db8::/32`, or one address (`192.0.2.7`).
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    /// The network's address bytes (4 or 16), host bits cleared.
    let network: [UInt8]
    let prefix: Int

    public init(parsing text: String) throws(AuthorityError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = Self.bytes(of: String(parts[0])) else {
            throw AuthorityError(.badRequest, "--trusted-proxy takes an address or a range such as 10.0.0.0/8 or 2001:db8::/32")
        }
        let bits = bytes.count * 8
        let prefix: Int
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bits).contains(value), parts[1].allSatisfy(\.isASCII) else {
                throw AuthorityError(.badRequest, "--trusted-proxy: the prefix length must be 0 to \(bits)")
            }
            prefix = value
        } else {
            prefix = bits
        }
        self.prefix = prefix
        network = Self.masked(bytes, prefix: prefix)
    }

    /// Whether the textual address `ip` is in the range (an IPv4-mapped IPv6 address is its IPv4 address).
    public func contains(ip: String) -> Bool {
        guard let bytes = Self.bytes(of: ip), bytes.count == network.count else { return false }
        return Self.masked(bytes, prefix: prefix) == network
    }

    public var description: String { (Self.text(of: network) ?? "?") + "/\(prefix)" }

    /// The bytes of a textual IPv4 or IPv6 address (an IPv4-mapped one as its 4 IPv4 bytes), or nil.
    static func bytes(of text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return Array(bytes[12..<16]) }
        return bytes
    }

    /// The text of 4 or 16 address bytes.
    static func text(of bytes: [UInt8]) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        let written = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        guard written != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func masked(_ bytes: [UInt8], prefix: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let kept = max(0, min(8, prefix - index * 8))
            return kept == 8 ? byte : byte & UInt8(truncatingIfNeeded: 0xFF << (8 - kept))
        }
    }
}

/// The PROXY protocol version 2 header (HAProxy's specification, section 2.2) that a load balancer passing TLS
/// through sends before the client's bytes: who the client really is.
///
/// Accepted only from the balancers the operator names (`--trusted-proxy`); anything else about it is refused,
/// never guessed.
public enum ProxyHeader {
    /// The 12-byte signature every version 2 header starts with.
    public static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// The most address and TLV bytes accepted after the 16-byte head (the specification's 536-byte frame).
    public static let maximumBody = 520

    public enum Parsed: Equatable, Sendable {
        /// Not enough bytes yet to tell.
        case needMore
        /// Not a well-formed version 2 header: close the connection.
        case invalid(String)
        /// A `LOCAL` header (the balancer's own connection, e.g. a health check), `length` bytes long.
        case local(length: Int)
        /// A `PROXY` header for a TCP client at `source` (its address as text), `length` bytes long.
        case proxied(source: String, length: Int)
    }

    /// Reads a header at the start of `bytes`.
    public static func parse(_ bytes: [UInt8]) -> Parsed {
        let head = min(bytes.count, signature.count)
        guard Array(bytes.prefix(head)) == Array(signature.prefix(head)) else { return .invalid("no PROXY protocol v2 signature") }
        guard bytes.count >= 16 else { return .needMore }
        let command = bytes[12]
        guard command >> 4 == 2 else { return .invalid("not version 2") }
        let length = Int(bytes[14]) << 8 | Int(bytes[15])
        guard length <= maximumBody else { return .invalid("header longer than \(maximumBody) bytes") }
        guard bytes.count >= 16 + length else { return .needMore }
        switch command & 0x0F {
        case 0x0: return .local(length: 16 + length)
        case 0x1: break
        default: return .invalid("unknown command")
        }
        let body = Array(bytes[16..<(16 + length)])
        switch bytes[13] {
        case 0x00:
            return .local(length: 16 + length)  // UNSPEC: no address to take
        case 0x11:
            guard body.count >= 12, let source = AddressRange.text(of: Array(body[0..<4])) else { return .invalid("short TCP/IPv4 addresses") }
            return .proxied(source: source, length: 16 + length)
        case 0x21:
            guard body.count >= 36, let source = AddressRange.text(of: Array(body[0..<16])) else { return .invalid("short TCP/IPv6 addresses") }
            return .proxied(source: source, length: 16 + length)
        default:
            return .invalid("not a TCP client")
        }
    }
}
