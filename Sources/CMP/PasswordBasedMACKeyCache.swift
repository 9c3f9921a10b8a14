import Synchronization

/// PBM keys that verified a message, kept a few minutes so that the other messages of the transaction reaching the
/// same process (the certConf after the request) reuse them instead of deriving them again. An entry is found only
/// with the exact secret and parameters, so a wrong code never hits one; only keys whose MAC verified are kept (a
/// guesser cannot fill the cache); the cache is bounded and lives in memory only. It is an optimisation, never a
/// state the protocol depends on: a message reaching another instance derives its key there.
public final class PasswordBasedMACKeyCache: Sendable {
    private struct Lookup: Hashable {
        let secret: [UInt8]
        let parameters: PasswordBasedMAC
    }

    private struct Entry {
        let key: PasswordBasedMACKey
        let expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[Lookup: Entry]>([:])
    private let capacity: Int
    private let lifetime: Duration

    public init(capacity: Int = 4_096, lifetime: Duration = .seconds(300)) {
        self.capacity = capacity
        self.lifetime = lifetime
    }

    /// The key for `message`'s PBM parameters and `secret`: the kept one, else derived (refusing counts above
    /// `maxIterations`). The MAC is not checked here.
    public func key(secret: [UInt8], for message: PKIMessage, maxIterations: Int) throws(CMPError) -> PasswordBasedMACKey {
        if let parameters = message.passwordBasedMAC, parameters.iterationCount <= maxIterations {
            let now = ContinuousClock.now
            let kept = entries.withLock { entries in entries[Lookup(secret: secret, parameters: parameters)] }
            if let kept, kept.expires > now { return kept.key }
        }
        return try message.passwordBasedMACKey(secret: secret, maxIterations: maxIterations)
    }

    /// Keeps a key that verified a message protected with `secret`.
    public func keep(_ key: PasswordBasedMACKey, secret: [UInt8]) {
        let now = ContinuousClock.now
        let entry = Entry(key: key, expires: now + lifetime)
        entries.withLock { entries in
            if entries.count >= capacity { entries = entries.filter { $0.value.expires > now } }
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[Lookup(secret: secret, parameters: key.parameters)] = entry
        }
    }
}
