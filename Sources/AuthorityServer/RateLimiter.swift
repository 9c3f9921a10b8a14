import AuthorityInterface
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// A per-client limit on the subscriber endpoints: at most `perMinute` requests from one address in
/// each minute (a fixed window). Addresses are kept only for the current minute. Behind a load
/// balancer, every request seems to come from the balancer: limit there instead (README).
final class RateLimiter: Sendable {
    private struct Window {
        var minute: Int64 = 0
        var counts: [String: Int] = [:]
    }

    private let perMinute: Int
    private let window = Mutex(Window())

    init(perMinute: Int) {
        self.perMinute = perMinute
    }

    /// Counts a request from the context's client; throws 429 with Retry-After when over the limit.
    func admit(_ context: ServiceRequestContext) throws {
        guard perMinute > 0 else { return }
        let client = context.remoteAddress?.ipAddress ?? "unknown"
        let now = Date().timeIntervalSince1970
        let minute = Int64(now / 60)
        let allowed = window.withLock { window -> Bool in
            if window.minute != minute {
                window.minute = minute
                window.counts.removeAll(keepingCapacity: true)
            }
            let count = window.counts[client, default: 0] + 1
            window.counts[client] = count
            return count <= perMinute
        }
        if !allowed {
            let retryAfter = max(1, Int((Double(minute + 1) * 60 - now).rounded(.up)))
            throw APIFailure(status: .tooManyRequests, WireError.rateLimited, retryAfter: retryAfter)
        }
    }
}
