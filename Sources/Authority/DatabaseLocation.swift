import AuthorityInterface
import Foundation

/// Where an authority keeps its registry, as `--database` names it: `sqlite:PATH` (one machine; the
/// default is `DATA_DIR/registry.sqlite`) or `postgres://USER@HOST[:PORT]/DATABASE` (a fleet).
///
/// A password is never part of the URL (a command line is visible to every local user): it comes
/// from `PGPASSWORD` or `--database-password-file`.
package enum DatabaseLocation: Sendable, Equatable {
    case sqlite(URL)
    case postgres(PostgresLocation)

    package init(parsing text: String) throws(AuthorityError) {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else {
                throw AuthorityError(.badRequest, "--database sqlite: needs a path, e.g. sqlite:/var/lib/paraphe/registry.sqlite")
            }
            self = .sqlite(URL(fileURLWithPath: path))
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(try PostgresLocation(parsing: text))
        } else {
            throw AuthorityError(.badRequest, "--database takes sqlite:PATH or postgres://USER@HOST:PORT/DATABASE")
        }
    }
}

/// A PostgreSQL database: `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=disable|require][&sslrootcert=PATH]`,
/// or through a Unix socket, `postgres://USER@/DATABASE?host=/run/postgresql` (the socket's directory).
///
/// TLS: `require` (verifying the server's certificate against the system's roots, or `sslrootcert`) for a remote
/// host, always (`sslmode=disable` is refused there); `disable` by default for loopback and sockets.
package struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    package enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case socket(path: String)
    }

    package var user: String
    package var database: String
    package var endpoint: Endpoint
    package var requireTLS: Bool
    package var rootCertificate: String?

    package init(parsing text: String) throws(AuthorityError) {
        func refuse(_ why: String) -> AuthorityError {
            AuthorityError(.badRequest, "--database \(why); the form is postgres://USER@HOST:PORT/DATABASE")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw refuse("is not a PostgreSQL URL")
        }
        guard components.password == nil else {
            throw AuthorityError(
                .badRequest,
                "--database must not carry a password (the command line is visible to every local user): use PGPASSWORD or --database-password-file")
        }
        guard let user = components.user, !user.isEmpty else { throw refuse("names no user") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw refuse("names no database") }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        if let unknown = query.keys.first(where: { !["sslmode", "sslrootcert", "host"].contains($0) }) {
            throw refuse("has an option this program does not know (\(unknown))")
        }
        self.user = user
        self.database = database
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            let port = components.port ?? 5432
            endpoint = .socket(path: socketDirectory + "/.s.PGSQL.\(port)")
        } else {
            guard let host = components.host, !host.isEmpty else { throw refuse("names no host") }
            let port = components.port ?? 5432
            guard (1...65_535).contains(port) else { throw refuse("has a port out of range") }
            endpoint = .tcp(host: host, port: port)
        }
        switch query["sslmode"] {
        case nil:
            requireTLS = !endpoint.isLocal
        case "disable":
            // In clear over a network, the registry's traffic (sealed codes, answer hashes, personal data) and the
            // password are anyone's on the path: only on this machine.
            guard endpoint.isLocal else {
                throw AuthorityError(
                    .badRequest,
                    "--database refuses sslmode=disable for a remote host: TLS is required unless the database is on this machine (loopback or a socket)"
                )
            }
            requireTLS = false
        case "require", "verify-full":
            requireTLS = true
        case let other?:
            throw refuse("has sslmode=\(other) (disable or require)")
        }
        rootCertificate = query["sslrootcert"]
    }

    /// The URL as it was meant, without a password (there is none), for messages and logs.
    package var description: String {
        switch endpoint {
        case .tcp(let host, let port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "postgres://\(user)@\(shownHost):\(port)/\(database)" + (requireTLS ? "" : "?sslmode=disable")
        case .socket(let path):
            return "postgres://\(user)@/\(database)?host=\((path as NSString).deletingLastPathComponent)"
        }
    }

}

extension PostgresLocation.Endpoint {
    package var isLocal: Bool {
        switch self {
        case .socket: true
        case .tcp(let host, _): ["localhost", "127.0.0.1", "::1"].contains(host) || host.hasPrefix("127.")
        }
    }
}
