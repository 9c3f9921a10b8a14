import AuthorityInterface
import Dispatch
import Foundation
import Synchronization

/// The authority's costly CPU work (the identity checks' answer hashes: three full-cost PBKDF2 each) on threads of
/// its own, never on the cooperative pool that answers every other request: at most `workers` jobs run at once (one
/// a core), at most `queueLimit` wait, first come first served, and a job beyond that is refused at once with
/// `AuthorityError(.busy)` — the service answers 503 with `Retry-After` — instead of waiting without bound.
///
/// So a burst of identity checks cannot starve `/health`, CMP or the outbox, and no request waits longer than
/// `queueLimit / workers` jobs.
public final class CPUWorkers: Sendable {
    private struct State {
        var running = 0
        var waiting: [@Sendable () -> Void] = []
        var head = 0
        var pending: Int { waiting.count - head }
    }

    public let workers: Int
    public let queueLimit: Int
    private enum Admission { case now, queued, refused }

    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "paraphe.authority.cpu", qos: .userInitiated, attributes: .concurrent)

    public init(workers: Int = ProcessInfo.processInfo.activeProcessorCount, queueLimit: Int? = nil) {
        self.workers = max(1, workers)
        self.queueLimit = max(0, queueLimit ?? 4 * max(1, workers))
    }

    /// Jobs running and waiting now (a figure for `/metrics`).
    public var load: (running: Int, waiting: Int) { state.withLock { ($0.running, $0.pending) } }

    /// Runs `body` on one of the workers, after those already waiting; throws `.busy` at once when the queue is full.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job: @Sendable () -> Void = { [self] in
                continuation.resume(with: Result { try body() })
                self.finished()
            }
            let admission = state.withLock { state -> Admission in
                if state.running < workers {
                    state.running += 1
                    return .now
                }
                guard state.pending < queueLimit else { return .refused }
                state.waiting.append(job)
                return .queued
            }
            switch admission {
            case .now: queue.async(execute: job)
            case .queued: break
            case .refused: continuation.resume(throwing: AuthorityError(.busy, "every worker is busy checking identities; retry in a moment"))
            }
        }
    }

    /// A job ended: the next waiting one takes its worker.
    private func finished() {
        let next = state.withLock { state -> (@Sendable () -> Void)? in
            guard state.pending > 0 else {
                state.running -= 1
                return nil
            }
            let job = state.waiting[state.head]
            state.head += 1
            if state.head > 64, state.head * 2 > state.waiting.count {
                state.waiting.removeFirst(state.head)
                state.head = 0
            }
            return job
        }
        if let next { queue.async(execute: next) }
    }
}

/// Runs blocking work (a `sendmail` process, file writes with fsync) on a thread outside the cooperative pool.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .utility).async { continuation.resume(with: Result { try body() }) }
    }
}
