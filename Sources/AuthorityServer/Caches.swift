import AuthorityInterface
import Foundation
import Synchronization

/// The CRL this instance serves at `/crl`: kept in memory and read from the registry again at most every
/// `maximumAge` seconds, or at once after this instance answered a revocation. Another instance's revocation
/// shows here within `maximumAge` (a CRL is valid 7 days; relying parties cache it for hours).
final class CRLCache: Sendable {
    private let kept = Mutex<(der: [UInt8]?, at: Date)?>(nil)
    private let maximumAge: TimeInterval
    private let now: @Sendable () -> Date

    init(maximumAge: TimeInterval = 30, now: @escaping @Sendable () -> Date) {
        self.maximumAge = maximumAge
        self.now = now
    }

    /// The CRL: the kept one while fresh, else `load()`'s (kept for the next callers).
    func current(_ load: () async throws -> [UInt8]?) async throws -> [UInt8]? {
        let now = now()
        if let kept = kept.withLock({ $0 }), now.timeIntervalSince(kept.at) < maximumAge, kept.at <= now { return kept.der }
        let der = try await load()
        kept.withLock { $0 = (der, now) }
        return der
    }

    func invalidate() { kept.withLock { $0 = nil } }
}

/// `/health`'s answer, probed at most every `interval` seconds: callers within the interval get the last probe,
/// and callers that arrive while a probe runs wait for that one (one database read at a time, whatever the load).
final class HealthProbe: Sendable {
    private struct State {
        var last: (health: WireFormat.Health, at: Date)?
        var running: Task<WireFormat.Health, Never>?
    }

    private let state = Mutex(State())
    private let interval: TimeInterval
    private let now: @Sendable () -> Date

    init(interval: TimeInterval = 2, now: @escaping @Sendable () -> Date) {
        self.interval = interval
        self.now = now
    }

    func current(_ probe: @escaping @Sendable () async -> WireFormat.Health) async -> WireFormat.Health {
        let now = now()
        let task = state.withLock { state -> Task<WireFormat.Health, Never>? in
            if let last = state.last, now.timeIntervalSince(last.at) < interval, last.at <= now { return nil }
            if let running = state.running { return running }
            let started = Task { await probe() }
            state.running = started
            return started
        }
        guard let task else { return state.withLock { $0.last?.health } ?? WireFormat.Health(status: "unavailable", database: "unknown", ca: "unknown", outboxPending: nil) }
        let health = await task.value
        state.withLock { state in
            state.last = (health, now)
            state.running = nil
        }
        return health
    }
}
