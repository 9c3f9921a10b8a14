import AuthorityInterface
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// A per-client limit on the subscriber endpoints, `/crl` and `/metrics`: at most `perMinute` requests from one
/// client in any 60 seconds (a sliding window: the instants of the last requests are kept, so no burst fits across
/// a minute's boundary as it would with fixed windows). A client is an IPv4 address or an IPv6 /64 — behind a
/// trusted load balancer, the one its PROXY header names (`ServiceRequestContext.client`). Clients idle for a
/// minute are forgotten.
final class RateLimiter: Sendable {
    private struct Clients {
        var recent: [String: [Double]] = [:]
        var lastSweep: Double = 0
    }

    private let perMinute: Int
    private let clients = Mutex(Clients())
    private let now: @Sendable () -> Date

    /// `now`: the authority's clock.
    init(perMinute: Int, now: @escaping @Sendable () -> Date) {
        self.perMinute = perMinute
        self.now = now
    }

    /// Counts a request from the context's client; throws 429 with Retry-After (when the oldest of its last
    /// `perMinute` requests leaves the window) when over the limit.
    func admit(_ context: ServiceRequestContext) throws {
        guard perMinute > 0 else { return }
        let client = context.client.key
        let now = now().timeIntervalSince1970
        let wait = clients.withLock { clients -> Double? in
            if now - clients.lastSweep >= 60 {
                clients.recent = clients.recent.filter { ($0.value.last ?? 0) > now - 60 }
                clients.lastSweep = now
            }
            var times = clients.recent[client, default: []]
            times.removeAll { $0 <= now - 60 }
            defer { clients.recent[client] = times }
            if times.count >= perMinute, let oldest = times.first { return oldest + 60 - now }
            times.append(now)
            return nil
        }
        if let wait {
            throw APIFailure(status: .tooManyRequests, WireError.rateLimited, retryAfter: max(1, Int(wait.rounded(.up))))
        }
    }
}
