import Authority
import AuthorityInterface
import AuthorityPostgres
import Foundation
import Logging
import PostgresNIO
import Testing

/// The registry never waits for the database without bound (`Leases`): not for a connection the pool cannot
/// make, not for the answer to a statement lost with a connection the database closed.
@Suite("Waiting for the database", .enabled(if: TestDatabase.isPostgres))
struct LeaseTests {
    static let logger: Logger = {
        var logger = Logger(label: "paraphe.tests")
        logger.logLevel = .critical  // postgres-nio's warning for a lease asked just before the client runs
        return logger
    }()

    @Test("a statement sent after the database closed the connection fails within seconds instead of waiting forever")
    func aStatementAfterTheCloseFails() async throws {
        let bed = TestBed(seed: 2614)
        defer { bed.remove() }
        let client = try await Self.client(bed)
        let leases = Leases(client: client, grace: .milliseconds(500))
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await client.run() }
            group.addTask { await leases.watch() }

            // postgres-nio's own behaviour, the reason for the watch: the answer never comes.
            let unwatched = try await client.withConnection { connection in
                try await Self.close(connection, bed)
                return await settled(within: .seconds(3)) { try await connection.query("SELECT 1", logger: Self.logger) }
            }
            #expect(unwatched == nil, "postgres-nio now ends a statement lost on a closed connection: that part of Leases can go")

            let start = ContinuousClock.now
            let watched = await settled(within: .seconds(20)) {
                try await leases.run { connection in
                    try await Self.close(connection, bed)
                    return try await connection.query("SELECT 1", logger: Self.logger)
                }
            }
            let outcome = try #require(watched, "the watched statement never ended")
            #expect(throws: ConnectionLost.self) { try outcome.get() }
            #expect(ContinuousClock.now - start < .seconds(8))

            // The pool goes on with a new connection.
            let next = try await leases.run { try await Self.integers($0, "SELECT 9") }
            #expect(next == [9])
            group.cancelAll()
        }
    }

    @Test("a statement longer than the grace on an open connection is never cut short")
    func aSlowStatementEnds() async throws {
        let bed = TestBed(seed: 2613)
        defer { bed.remove() }
        let client = try await Self.client(bed)
        let leases = Leases(client: client, connectionWait: .milliseconds(500), grace: .milliseconds(200))
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await client.run() }
            group.addTask { await leases.watch() }
            let slept = try await leases.run { try await Self.integers($0, "SELECT 7 FROM pg_sleep(1.5)") }
            #expect(slept == [7])
            // The same connection leased again: still watched, still answering.
            let again = try await leases.run { try await Self.integers($0, "SELECT 8") }
            #expect(again == [8])
            group.cancelAll()
        }
    }

    @Test("with no database to connect to, opening the registry says it is unavailable within seconds, not a minute")
    func noDatabaseIsUnavailable() async throws {
        // Port 1: nothing listens, every connection is refused; the pool would wait a minute before giving up.
        let nowhere = try PostgresLocation(parsing: "postgres://paraphe@127.0.0.1:1/paraphe")
        let start = ContinuousClock.now
        let opened = await settled(within: .seconds(40)) { try await PostgresRegistry.open(nowhere, password: nil) }
        let outcome = try #require(opened, "opening waited 40 s")
        #expect(ContinuousClock.now - start < .seconds(20))
        #expect {
            try outcome.get()
        } throws: { error in
            (error as? AuthorityError)?.code == .unavailable
        }
    }

    /// Has the server close `connection` (`pg_terminate_backend`) and returns once postgres-nio has taken it apart.
    private static func close(_ connection: PostgresConnection, _ bed: TestBed) async throws {
        let pid = try #require(try await integers(connection, "SELECT pg_backend_pid()").first)
        #expect(try await bed.psql("SELECT pg_terminate_backend(\(pid))").status == 0)
        let deadline = ContinuousClock.now + .seconds(10)
        while !connection.isClosed, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try #require(connection.isClosed)
        try await Task.sleep(for: .milliseconds(100))
    }

    private static func integers(_ connection: PostgresConnection, _ sql: String) async throws -> [Int] {
        var values: [Int] = []
        for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int.self) {
            values.append(value)
        }
        return values
    }

    private static func client(_ bed: TestBed) async throws -> PostgresClient {
        let server = try #require(TestDatabase.server)
        let database = try await TestDatabase.database(for: bed.directory, on: server)
        guard case .tcp(let host, let port) = database.endpoint else { throw AuthorityError(.storage, "the test server must be reached over TCP") }
        let configuration = PostgresClient.Configuration(
            host: host, port: port, username: database.user, password: server.password, database: database.database, tls: .disable)
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }
}

/// `operation`'s outcome, or nil when it has not ended within `limit` (it is then left running: a wait that
/// never ends cannot be cancelled).
private func settled<T: Sendable>(
    within limit: Duration, _ operation: @escaping @Sendable () async throws -> T
) async -> Result<T, any Error>? {
    let (outcomes, continuation) = AsyncStream.makeStream(of: Result<T, any Error>?.self)
    Task {
        do { continuation.yield(.success(try await operation())) } catch { continuation.yield(.failure(error)) }
    }
    Task {
        try? await Task.sleep(for: limit)
        continuation.yield(nil)
    }
    for await first in outcomes { return first }
    return nil
}
