import AuthorityInterface
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// A per-client limit on the subscriber endpoints: at most `perMinute` requests from one address in any 60
/// seconds (a sliding window: the instants of the last requests are kept, so no burst fits across a minute's
/// boundary as it would with fixed windows). Addresses idle for a minute are forgotten. Behind a load
/// balancer, every request seems to come from the balancer: limit there instead (README).
final class RateLimiter: Sendable {
    private struct Clients {
        var recent: [String: [Double]] = [:]
        var lastSweep: Double = 0
    }

    private let perMinute: Int
    private let clients = Mutex(Clients())

    init(perMinute: Int) {
        self.perMinute = perMinute
    }

    /// Counts a request from the context's client; throws 429 with Retry-After (when the oldest of its last
    /// `perMinute` requests leaves the window) when over the limit.
    func admit(_ context: ServiceRequestContext) throws {
        guard perMinute > 0 else { return }
        let client = context.remoteAddress?.ipAddress ?? "unknown"
        let now = Date().timeIntervalSince1970
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
