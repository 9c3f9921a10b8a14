import Foundation
import Synchronization

/// PBM keys that verified a message, kept a few minutes so that the other messages of the transaction reaching the
/// same process (the certConf after the request) reuse them instead of deriving them again.
///
/// An entry is found only with the exact secret and parameters, so a wrong code never hits one; only keys whose MAC
/// verified are kept (a guesser cannot fill the cache); the cache is bounded and lives in memory only. An entry goes
/// when its lifetime is over — every look at the cache first drops the expired ones (a sweep at most once a second),
/// so a key is gone at most a second after its `lifetime` whether or not the cache ever fills. It is an optimisation,
/// never a state the protocol depends on: a message reaching another instance derives its key there.
public final class PasswordBasedMACKeyCache: Sendable {
    private struct Lookup: Hashable {
        let secret: [UInt8]
        let parameters: PasswordBasedMAC
    }

    private struct Entries {
        var keys: [Lookup: (key: PasswordBasedMACKey, expires: Date)] = [:]
        var lastSweep = Date.distantPast

        /// Drops the expired entries (at most once a second: a sweep walks them all).
        mutating func sweep(at now: Date) {
            guard now.timeIntervalSince(lastSweep) >= 1 || now < lastSweep else { return }
            keys = keys.filter { $0.value.expires > now }
            lastSweep = now
        }
    }

    private let entries = Mutex(Entries())
    private let capacity: Int
    private let lifetime: TimeInterval
    private let now: @Sendable () -> Date

    /// `now`: the clock the lifetimes run on (the authority's injected one).
    public init(capacity: Int = 4_096, lifetime: TimeInterval = 300, now: @escaping @Sendable () -> Date = { Date() }) {
        self.capacity = capacity
        self.lifetime = lifetime
        self.now = now
    }

    /// Keys kept now (expired ones dropped first): the figure `/metrics` shows.
    public var count: Int {
        let now = now()
        return entries.withLock { entries in
            entries.sweep(at: now)
            return entries.keys.count
        }
    }

    /// The key for `message`'s PBM parameters and `secret`: the kept one, else derived (refusing counts above
    /// `maxIterations`).
    ///
    /// The MAC is not checked here.
    public func key(secret: [UInt8], for message: PKIMessage, maxIterations: Int) throws(CMPError) -> PasswordBasedMACKey {
        if let parameters = message.passwordBasedMAC, parameters.iterationCount <= maxIterations {
            let now = now()
            let kept = entries.withLock { entries in
                entries.sweep(at: now)
                return entries.keys[Lookup(secret: secret, parameters: parameters)]
            }
            if let kept, kept.expires > now { return kept.key }
        }
        return try message.passwordBasedMACKey(secret: secret, maxIterations: maxIterations)
    }

    /// Keeps a key that verified a message protected with `secret`.
    public func keep(_ key: PasswordBasedMACKey, secret: [UInt8]) {
        let now = now()
        entries.withLock { entries in
            entries.sweep(at: now)
            if entries.keys.count >= capacity { entries.keys.removeAll(keepingCapacity: true) }
            entries.keys[Lookup(secret: secret, parameters: key.parameters)] = (key, now + lifetime)
        }
    }
}
