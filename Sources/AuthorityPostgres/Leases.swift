import PostgresNIO
import Synchronization

/// Runs the registry's statements and transactions on pooled connections so that no caller waits forever
/// for the database — neither for a connection nor for the answer to a statement lost with one.
///
/// Two waits of postgres-nio (1.33.2) have no bound of their own:
/// - **A connection.** While connections cannot be made (the database restarting, the network to it cut), a
///   request for one waits in the pool's queue until the pool gives up after a minute of failures. Here a lease
///   not granted within `connectionWait` is given up: its caller gets `LeaseNotGranted` (the service answers 503
///   with Retry-After) and its place in the queue is cancelled.
/// - **A statement sent on a closed connection.** postgres-nio hands a statement to its channel without
///   listening to the write: on a connection the server has already closed — a database restart between two
///   statements of one transaction — the write fails where nobody hears it and the statement's promise is never
///   completed. `scripts/chaos` found it as operator commands that never ended after a database restart. A
///   statement written before the close is failed by postgres-nio itself; one written after never reached the
///   server, so nothing it asked for happened. Here, once a connection closes under a body, the body has `grace`
///   to end with its own outcome (an answer already on its way, or postgres-nio's error); then its caller gets
///   `ConnectionLost`, and the body, waiting on a statement that went nowhere, is left behind.
///
/// A statement running on an open connection is never cut short (its commit may happen): only a lease still
/// waiting for a connection, or a connection already closed, ends a wait early. Each lease's body runs in a
/// task of its own, which its caller can leave; `watch()` (run beside the pool) gives up late leases.
package final class Leases: Sendable {
    private let client: PostgresClient
    private let connectionWait: Duration
    private let grace: Duration
    private let state = Mutex(State())

    private struct State {
        var next: UInt64 = 0
        /// Leases asked and not granted yet: when, and how to give each up.
        var waiting: [UInt64: Waiting] = [:]
        /// The connections whose close is awaited (once each), with how to end the body running on each, if any.
        var watched: [PostgresConnection.ID: Ending?] = [:]
    }

    private struct Waiting {
        let since: ContinuousClock.Instant
        let giveUp: Ending
    }

    private struct Ending: Sendable {
        let run: @Sendable () -> Void
    }

    package init(client: PostgresClient, connectionWait: Duration = .seconds(10), grace: Duration = .seconds(2)) {
        self.client = client
        self.connectionWait = connectionWait
        self.grace = grace
    }

    /// `body`'s outcome on a pooled connection; `LeaseNotGranted` when no connection came within the wait,
    /// `ConnectionLost` when the connection closed under a statement that never came back.
    package func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let outcome = Outcome<T>()
        let leasing = Mutex<Task<Void, Never>?>(nil)
        let wait = connectionWait
        let ticket = state.withLock { state in
            state.next += 1
            let giveUp = Ending {
                outcome.settle(.failure(LeaseNotGranted(waited: wait)))
                leasing.withLock { $0?.cancel() }  // out of the pool's queue
            }
            state.waiting[state.next] = Waiting(since: .now, giveUp: giveUp)
            return state.next
        }
        let task = Task {
            do {
                let value = try await client.withConnection { connection in
                    guard self.granted(ticket, connection, outcome) else { throw LeaseNotGranted(waited: wait) }
                    defer { self.finished(connection.id) }
                    return try await body(connection)
                }
                outcome.settle(.success(value))
            } catch {
                outcome.settle(.failure(error))
            }
        }
        leasing.withLock { $0 = task }
        return try await withTaskCancellationHandler {
            try await outcome.value()
        } onCancel: {
            task.cancel()
        }
    }

    /// Gives up, every half second, the leases that have waited `connectionWait` for a connection; until cancelled.
    package func watch() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(500))
            let now = ContinuousClock.now
            let late = state.withLock { state in
                let late = state.waiting.filter { now - $0.value.since >= connectionWait }
                for ticket in late.keys { state.waiting[ticket] = nil }
                return late.values.map(\.giveUp)
            }
            for giveUp in late { giveUp.run() }
        }
    }

    /// Whether lease `ticket` still wants `connection` (it was not given up); then watches the connection's close.
    private func granted<T>(_ ticket: UInt64, _ connection: PostgresConnection, _ outcome: Outcome<T>) -> Bool {
        let id = connection.id
        let answer = state.withLock { state -> (granted: Bool, first: Bool) in
            guard state.waiting.removeValue(forKey: ticket) != nil else { return (false, false) }
            let first = state.watched[id] == nil
            state.watched[id] = .some(Ending { outcome.settle(.failure(ConnectionLost())) })
            return (true, first)
        }
        if answer.first {
            // Once a connection (a close that already happened calls back at once).
            connection.closeFuture.whenComplete { _ in self.closed(id) }
        }
        return answer.granted
    }

    private func finished(_ id: PostgresConnection.ID) {
        state.withLock { state in
            if state.watched[id] != nil { state.watched[id] = .some(nil) }
        }
    }

    private func closed(_ id: PostgresConnection.ID) {
        guard let ending = state.withLock({ $0.watched.removeValue(forKey: id) }) ?? nil else { return }
        let grace = self.grace
        Task {
            try? await Task.sleep(for: grace)
            ending.run()
        }
    }
}

/// No connection to the database was granted within the wait.
package struct LeaseNotGranted: Error {
    /// How long the lease waited.
    package let waited: Duration
}

/// The database closed the connection while a statement of the lease was lost with it.
package struct ConnectionLost: Error {}

/// The outcome of a body, delivered once to the one caller waiting for it: the first `settle` wins.
private final class Outcome<T: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<T, any Error>?)
        case settled(Result<T, any Error>)
        case delivered
    }

    private let state = Mutex<State>(.waiting(nil))

    func settle(_ result: Result<T, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<T, any Error>? in
            guard case .waiting(let waiter) = state else { return nil }
            state = waiter == nil ? .settled(result) : .delivered
            return waiter
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<T, any Error>? in
                guard case .settled(let result) = state else {
                    state = .waiting(continuation)
                    return nil
                }
                state = .delivered
                return result
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
