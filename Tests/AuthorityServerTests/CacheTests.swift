import AuthorityInterface
import AuthorityWire
import Foundation
import ParapheTestSupport
import Synchronization
import Testing

@testable import Authority
@testable import AuthorityServer

/// What the service answers without reading the database each time (issue 22, hole 9).
@Suite("Service caches")
struct CacheTests {
    final class Counter: Sendable {
        let count = Mutex(0)
        func next() -> Int {
            count.withLock {
                $0 += 1
                return $0
            }
        }
        var value: Int { count.withLock { $0 } }
    }

    @Test("/health: 200 callers at once make one probe, and a new probe comes only after the interval")
    func healthProbesOnceForABurst() async throws {
        let clock = ManualTimeSource(Date(timeIntervalSince1970: 1_780_000_000))
        let probe = HealthProbe(interval: 2, now: { clock.now() })
        let probes = Counter()
        let ok = WireFormat.Health(status: "ok", database: "reachable", ca: "loaded", outboxPending: 0)
        let answers = await withTaskGroup(of: String.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    await probe.current {
                        _ = probes.next()
                        try? await Task.sleep(for: .milliseconds(50))  // a database round trip
                        return ok
                    }.status
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.count == 200 && answers.allSatisfy { $0 == "ok" })
        #expect(probes.value == 1, "\(probes.value) probes")
        clock.advance(by: 1.5)
        _ = await probe.current {
            _ = probes.next()
            return ok
        }
        #expect(probes.value == 1)
        clock.advance(by: 1)
        _ = await probe.current {
            _ = probes.next()
            return ok
        }
        #expect(probes.value == 2)
    }

    @Test("/crl: loaded again only when the newest CRL's number moves, none is current, or after a revocation here")
    func crlCache() async throws {
        let cache = CRLCache()
        let loads = Counter()
        func fetch(_ number: Int?) async throws -> [UInt8]? { try await cache.current(number: number) { [UInt8(loads.next())] } }
        #expect(try await fetch(7) == [1])
        #expect(try await fetch(7) == [1])
        #expect(try await fetch(8) == [2], "another instance (or the operator) revoked: a new CRL")
        #expect(try await fetch(8) == [2])
        #expect(try await fetch(nil) == [3], "none current (a day old): revocationList() signs one")
        #expect(try await fetch(9) == [4])
        cache.invalidate()
        #expect(try await fetch(9) == [5])
    }

    @Test("PROXY protocol v2 headers and address ranges, as a balancer and an operator write them")
    func proxyHeaders() throws {
        let signature = ProxyHeader.signature
        let v4: [UInt8] = signature + [0x21, 0x11, 0, 12, 198, 51, 100, 7, 127, 0, 0, 1, 0x9C, 0x40, 0x20, 0xFB]
        #expect(ProxyHeader.parse(v4) == .proxied(source: "198.51.100.7", length: 28))
        #expect(ProxyHeader.parse(v4 + Array("TLS".utf8)) == .proxied(source: "198.51.100.7", length: 28), "what follows is not read")
        #expect(ProxyHeader.parse(Array(v4.prefix(20))) == .needMore)
        #expect(ProxyHeader.parse(Array(signature.prefix(5))) == .needMore)
        let v6: [UInt8] =
            signature + [0x21, 0x21, 0, 36] + [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1]
            + Array(repeating: 0, count: 15) + [1] + [0x9C, 0x40, 0x20, 0xFB]
        #expect(ProxyHeader.parse(v6) == .proxied(source: "2001:db8::1", length: 52))
        #expect(ProxyHeader.parse(signature + [0x20, 0x00, 0, 0]) == .local(length: 16))
        #expect(ProxyHeader.parse([0x16, 0x03, 0x01] + Array(repeating: 0, count: 20)) == .invalid("no PROXY protocol v2 signature"))
        #expect(ProxyHeader.parse(signature + [0x11, 0x11, 0, 12]) == .invalid("not version 2"))
        #expect(ProxyHeader.parse(signature + [0x21, 0x11, 0xFF, 0xFF]) == .invalid("header longer than 520 bytes"))
        #expect(ProxyHeader.parse(signature + [0x21, 0x11, 0, 4, 1, 2, 3, 4]) == .invalid("short TCP/IPv4 addresses"))
        #expect(ProxyHeader.parse(signature + [0x21, 0x12, 0, 12] + Array(repeating: 1, count: 12)) == .invalid("not a TCP client"))

        let range = try AddressRange(parsing: "10.1.0.0/16")
        #expect(range.contains(ip: "10.1.200.3") && !range.contains(ip: "10.2.0.1") && range.contains(ip: "::ffff:10.1.0.9"))
        let six = try AddressRange(parsing: "2001:db8:aa::/48")
        #expect(six.contains(ip: "2001:db8:aa:1::5") && !six.contains(ip: "2001:db8:ab::1") && !six.contains(ip: "10.1.0.1"))
        #expect(
            try AddressRange(parsing: "192.0.2.7").contains(ip: "192.0.2.7") && !(try AddressRange(parsing: "192.0.2.7")).contains(ip: "192.0.2.8"))
        for bad in ["10.0.0.0/33", "example.org", "10.0.0.0/", "2001:db8::/129", ""] {
            #expect(throws: AuthorityError.self) { try AddressRange(parsing: bad) }
        }
    }
}
