import AuthorityInterface
import AuthorityWire
import Foundation
import Synchronization

/// The CRL this instance serves at `/crl`: kept in memory until it changes.
///
/// Each request reads only the newest CRL's number (one indexed read, no transaction, no lock); the CRL itself is
/// loaded again when that number moved (a revocation by any instance or the operator), when none is current, or
/// after a revocation answered here.
final class CRLCache: Sendable {
    private let kept = Mutex<(der: [UInt8]?, number: Int)?>(nil)

    init() {}

    /// The CRL: the kept one while `number` (the registry's newest current CRL, nil if none is current) is the one it
    /// was loaded with, else `load()`'s (kept for the next callers).
    func current(number: Int?, _ load: () async throws -> [UInt8]?) async throws -> [UInt8]? {
        if let number, let kept = kept.withLock({ $0 }), kept.number == number { return kept.der }
        let der = try await load()
        if let number { kept.withLock { $0 = (der, number) } } else { invalidate() }
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
        guard let task else {
            return state.withLock { $0.last?.health }
                ?? WireFormat.Health(status: "unavailable", database: "unknown", ca: "unknown", outboxPending: nil)
        }
        let health = await task.value
        state.withLock { state in
            state.last = (health, now)
            state.running = nil
        }
        return health
    }
}
