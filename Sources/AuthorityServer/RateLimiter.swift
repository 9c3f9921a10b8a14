import AuthorityInterface
import AuthorityWire
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// A sliding-window limit: at most `limit` requests for one key in any `window` seconds (the instants of the last
/// requests are kept, so no burst fits across a window's boundary as it would with fixed windows).
///
/// Keys idle for a window are forgotten. The service keeps two: per client (an IPv4 address or an IPv6 /64 —
/// behind a trusted load balancer, the one its PROXY header names: `ServiceRequestContext.client`) on the
/// subscriber endpoints, `/crl` and `/metrics`; and per application on the identity checks, whose answer hashes
/// are the costly work.
final class RateLimiter: Sendable {
    private struct Keys {
        var recent: [String: [Double]] = [:]
        var lastSweep: Double = 0
    }

    private let limit: Int
    private let window: TimeInterval
    private let keys = Mutex(Keys())
    private let now: @Sendable () -> Date

    /// `now`: the authority's clock.
    ///
    /// A limit of 0 admits everything.
    init(limit: Int, window: TimeInterval = 60, now: @escaping @Sendable () -> Date) {
        self.limit = limit
        self.window = window
        self.now = now
    }

    /// Counts a request from the context's client.
    func admit(_ context: ServiceRequestContext) throws {
        try admit(context.client.key)
    }

    /// Counts a request for `key`; throws 429 with Retry-After (when the oldest of its last `limit` requests leaves
    /// the window) when over the limit.
    func admit(_ key: String) throws {
        guard limit > 0 else { return }
        let now = now().timeIntervalSince1970
        let window = self.window
        let wait = keys.withLock { keys -> Double? in
            if now - keys.lastSweep >= window {
                keys.recent = keys.recent.filter { ($0.value.last ?? 0) > now - window }
                keys.lastSweep = now
            }
            var times = keys.recent[key, default: []]
            times.removeAll { $0 <= now - window }
            defer { keys.recent[key] = times }
            if times.count >= limit, let oldest = times.first { return oldest + window - now }
            times.append(now)
            return nil
        }
        if let wait {
            throw APIFailure(status: .tooManyRequests, WireError.rateLimited, retryAfter: max(1, Int(wait.rounded(.up))))
        }
    }
}
