import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Who sent a request, as the authority's limits count it: an IPv4 address; the /64 of an IPv6 address (a
/// host is usually given a whole /64, so counting single addresses would let one machine spread its requests
/// over 2^64 of them); `local` for the embedded mode's requests, made in process.
public struct ClientAddress: Sendable, Hashable, CustomStringConvertible {
    /// The key the counts are stored under: `192.0.2.7`, `2001:db8:1:2::/64`, `local`.
    public let key: String

    /// The embedded mode's own process.
    public static let local = ClientAddress(key: "local")

    private init(key: String) { self.key = key }

    /// The client behind a textual IP address (as a socket reports it).
    ///
    /// An IPv4-mapped IPv6 address counts as its IPv4 address; text that is not an address counts as one
    /// shared `unknown` client.
    public init(ip text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            key = Self.format4(withUnsafeBytes(of: &v4) { Array($0) })
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else {
            key = "unknown"
            return
        }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            key = Self.format4(Array(bytes[12..<16]))
            return
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        key = groups.joined(separator: ":") + "::/64"
    }

    private static func format4(_ bytes: [UInt8]) -> String {
        bytes.map(String.init).joined(separator: ".")
    }

    public var description: String { key }
}

/// The limit on CMP requests that prove no code (a reference number no live codes carry, or a MAC that does not
/// verify) and do not name their application: at most `failures` from one client in `window`; beyond, that
/// client's requests without Paraphe's sender token are refused until the oldest of those failures is `window` old,
/// even with the right reference number and code.
///
/// Such requests never count against an application (a stranger must not be able to use up someone else's codes);
/// Paraphe's own client names its application, so its mistyped reference numbers count against that application,
/// and kiosks behind one address never lock each other out. The counts live in the registry, so the limit holds
/// across a fleet's instances.
public enum SenderPolicy {
    public static let failures = 5
    public static let window: TimeInterval = 15 * 60
}
