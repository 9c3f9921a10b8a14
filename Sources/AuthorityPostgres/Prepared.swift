import PostgresNIO

/// The SQL of one statement the registry runs often enough that PostgreSQL should parse and plan it once per connection.
protocol PreparedSQL {
    static var sql: String { get }
}

/// A statement postgres-nio prepares the first time a pooled connection runs it and then only binds and executes:
/// `Text.sql` with its `$1…` placeholders, the values bound in that order.
///
/// (A query written with `PostgresQuery`'s interpolation is parsed and planned by the server on every run: fine for the
/// operator's commands, not for the requests that come by the hundred a second — step 1's overview, an identity check,
/// a CMP enrollment.)
struct Prepared<Text: PreparedSQL>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var sql: String { Text.sql }
    /// The statement's own name, short: PostgreSQL cuts names at 63 bytes, and the default (the whole generic type's
    /// name) would make two statements one.
    static var name: String { "paraphe_" + String(describing: Text.self) }

    private let bindings: PostgresBindings

    init(_ bind: (inout PostgresBindings) throws -> Void) throws {
        var bindings = PostgresBindings()
        try bind(&bindings)
        self.bindings = bindings
    }

    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}
