import Activation
import ArgumentParser
import Authority
import AuthorityInterface
import AuthorityPostgres
import AuthorityServer
import Foundation
import Logging
import OperatorCommands

/// `paraphe-authority`: the certification authority's host.
///
/// `serve` runs the HTTPS service kiosks reach; the operator commands are the ones `paraphe
/// authority …` runs, on the same code.
struct ParapheAuthority: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paraphe-authority",
        abstract: "The certification authority of Paraphe: the HTTPS service kiosks enroll with, and the operator's commands.",
        discussion: """
            Operator commands work on the data directory of this host only; nothing operator-only is reachable \
            over the network. Exit statuses: 0 done, 64 usage, 65 bad input data, 66 file not found, \
            69 service unavailable (cannot listen), 73 cannot create a file, 74 I/O error.
            """,
        version: "1.0.0",
        subcommands: [Serve.self, Migrate.self] + AuthorityCommand.operatorCommands
    )

}

/// The entry point of `paraphe-authority` (and of its test binary, with its hooks).
public enum ParapheAuthorityMain {
    public static func run(hooks: ParapheHooks = ParapheHooks()) async {
        let program = ProgramContext(name: "paraphe-authority", hooks: hooks) { configuration, database, password in
            let registry = try await PostgresRegistry.open(database, password: password)
            do {
                return try await EmbeddedAuthority.open(configuration: configuration, registry: registry)
            } catch {
                await registry.close()
                throw error
            }
        }
        await runCommandLine(ParapheAuthority.self, program: program, logLevel: .info)
    }
}

struct Serve: ProgramCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the subscriber API (/api/v1/), CMP enrollment (/pkix/) and the CA certificate over HTTPS.",
        discussion: """
            The first line on stdout is `Listening on https://HOST:PORT` with the bound port (so --listen \
            127.0.0.1:0 picks a free one). Without --tls-cert/--tls-key, the service presents a certificate \
            its own CA issues at start for the --tls-name names. SIGTERM or SIGINT: stop accepting, finish \
            the requests in flight, exit 0. Logs (one line a request, never a secret) go to stderr.
            """
    )

    @OptionGroup var data: RegistryOptions
    @Option(help: "Address and port to listen on: HOST:PORT, [IPv6]:PORT.") var listen = "127.0.0.1:8443"
    @Option(
        name: .customLong("tls-name"),
        help: "A DNS name or IP address for the service's certificate (repeatable; default localhost and the listen host).")
    var tlsNames: [String] = []
    @Option(name: .customLong("tls-cert"), help: "A PEM certificate chain to present instead (with --tls-key).") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert.") var tlsKey: String?
    @Option(
        name: .customLong("rate-limit"), help: "Requests per minute one client address may make to the subscriber and CMP endpoints (0: no limit).")
    var rateLimit = 60
    @Option(name: .customLong("identity-checks"), help: "Identity checks one application may take in any 15 minutes on this instance (0: no limit).")
    var identityChecks = 10
    @Option(name: .customLong("idle-timeout"), help: "Seconds after which an idle connection is closed.") var idleTimeout = 30
    @Option(
        name: .customLong("trusted-proxy"),
        help:
            "A load balancer (address or CIDR range, repeatable) whose connections start with a PROXY protocol v2 header naming the client; the limits then count that client."
    )
    var trustedProxies: [String] = []

    /// Seconds between two looks at the outbox.
    static let mailInterval = 5

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("Give --tls-cert and --tls-key together.") }
        guard rateLimit >= 0 else { throw ValidationError("--rate-limit must be 0 or more.") }
        guard identityChecks >= 0 else { throw ValidationError("--identity-checks must be 0 or more.") }
        guard (1...3_600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be 1 to 3600 seconds.") }
        _ = try ListenAddress(listen)
        for range in trustedProxies { _ = try AddressRange(parsing: range) }
    }

    func run(in program: ProgramContext) async throws {
        let language = defaultLanguage(nil)
        try await runReportingErrors(language: language, program: program) {
            let address = try ListenAddress(listen)
            let authority = try await data.authority(program)
            let keeper = IdentityKeeper(
                files: tlsCert.flatMap { cert in tlsKey.map { (cert, $0) } },
                names: tlsNames.isEmpty ? Array(Set(["localhost", address.host])).sorted() : tlsNames, language: language)
            let identity = try await keeper.initial(authority)
            var settings = ServiceSettings(host: address.host, port: address.port, identity: identity)
            settings.requestsPerMinute = rateLimit
            settings.identityChecksPerApplication = identityChecks
            settings.idleTimeout = .seconds(idleTimeout)
            settings.trustedProxies = try trustedProxies.map { try AddressRange(parsing: $0) }
            // Background work, every few seconds and whenever a request asks for it: recovery requests (handled after
            // their answer), then the outbox — emails of this instance whose delivery failed, and those of an instance
            // that died between its commit and its delivery (each claimed by one instance at a time).
            let (rounds, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            let service = AuthorityService(authority: authority, settings: settings, wakeBackground: { wake.yield() })
            let ticker = Task {
                while !Task.isCancelled {
                    wake.yield()
                    try? await Task.sleep(for: .seconds(Self.mailInterval))
                }
            }
            let background = Task {
                for await _ in rounds {
                    await authority.processRecoveryRequests()
                    await authority.deliverPendingMail()
                    await keeper.keep(identity, authority)
                }
            }
            defer {
                ticker.cancel()
                wake.finish()
                background.cancel()
                Task { await authority.close() }
            }
            do {
                try await service.run { host, port in
                    let shown = host.contains(":") ? "[\(host)]" : host
                    // Written straight to the descriptor: scripts and tests wait for this line.
                    FileHandle.standardOutput.write(Data("Listening on https://\(shown):\(port)\n".utf8))
                }
            } catch let error as AuthorityError {
                throw error
            } catch {
                throw CLIError(status: 69, message: "cannot serve on \(listen): \(error)")
            }
        }
    }
}

/// The service's TLS identity over its life: the operator's files (`--tls-cert/--tls-key`), reloaded when they
/// change, or a certificate the authority's own CA issues at start and again `ServiceIdentity.renewBefore` its
/// expiry — in process, each new connection getting the new one and none dropped (the injected clock decides).
struct IdentityKeeper: Sendable {
    let files: (cert: String, key: String)?
    let names: [String]
    let language: Language

    /// Renew a self-issued certificate when it has less than this left (it is issued for 90 days).
    static let renewBefore: TimeInterval = 30 * 86_400

    func initial(_ authority: EmbeddedAuthority) async throws -> ServiceIdentity {
        if let files {
            return try ServiceIdentity(
                chainPEM: try readTextFile(files.cert, language: language), keyPEM: try readTextFile(files.key, language: language))
        }
        let issued = try await authority.issueTLSIdentity(names: names)
        return try ServiceIdentity(chainPEM: issued.certificateChainPEM, keyPEM: issued.privateKeyPEM)
    }

    /// One look (each background round): reload changed files, or renew a certificate near its end.
    ///
    /// A failure keeps the identity in use and says so in the log; the next round tries again.
    func keep(_ identity: ServiceIdentity, _ authority: EmbeddedAuthority) async {
        let logger = Logger(label: "paraphe.authority.tls")
        if let files {
            guard let chain = try? readTextFile(files.cert, language: language), let key = try? readTextFile(files.key, language: language),
                !identity.isMade(from: chain, keyPEM: key)
            else { return }
            do {
                try identity.replace(chainPEM: chain, keyPEM: key)
                logger.notice("TLS certificate reloaded from its files", metadata: ["file": "\(files.cert)", "until": "\(identity.notAfter)"])
            } catch {
                logger.error("the changed TLS files cannot be used; the previous certificate stays", metadata: ["file": "\(files.cert)"])
            }
            return
        }
        guard authority.time.now() >= identity.notAfter - Self.renewBefore else { return }
        do {
            let issued = try await authority.issueTLSIdentity(names: names)
            try identity.replace(chainPEM: issued.certificateChainPEM, keyPEM: issued.privateKeyPEM)
            logger.notice("TLS certificate renewed", metadata: ["until": "\(identity.notAfter)"])
        } catch {
            logger.error("the TLS certificate could not be renewed; the current one stays until the next try", metadata: ["reason": "\(error)"])
        }
    }
}

/// `HOST:PORT` or `[IPv6]:PORT`.
struct ListenAddress {
    let host: String
    let port: Int

    init(_ text: String) throws {
        let host: Substring
        let port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw ValidationError("--listen must be HOST:PORT or [IPv6]:PORT.") }
            port = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw ValidationError("--listen must be HOST:PORT or [IPv6]:PORT.") }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let number = Int(port), (0...65_535).contains(number) else {
            throw ValidationError("--listen must be HOST:PORT with a port from 0 to 65535.")
        }
        self.host = String(host)
        self.port = number
    }
}

/// `migrate`: a single machine's registry into a fleet's database.
struct Migrate: ProgramCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a single machine's registry (SQLite) into a fleet's PostgreSQL database, and verify the counts.",
        discussion: """
            Copies every table (applications, questions, codes and their attempt counts, certificates, CRLs, the \
            audit log, the outbox, the CA's fingerprint) in one transaction, keeping every id, then compares the \
            row counts table by table (exit 70 if one differs). The target must be empty (the schema is created). \
            The source is left as it is and keeps working until the operator switches the service to \
            --database postgres://…; then give every instance a copy of the source data directory's \
            ca/ca-key.pem, ca/ca-cert.pem and authority.key (deploy/README.md).
            """
    )

    @Option(help: "The registry to copy: sqlite:PATH (e.g. sqlite:/var/lib/paraphe-authority/registry.sqlite).") var from: String
    @Option(help: "The PostgreSQL database to copy into: postgres://USER@HOST:PORT/DATABASE.") var to: String
    @Option(name: .customLong("database-password-file"), help: "A file whose first line is the PostgreSQL password (instead of PGPASSWORD).")
    var databasePasswordFile: String?

    func run(in program: ProgramContext) async throws {
        try await runReportingErrors(language: defaultLanguage(nil), program: program) {
            guard case .sqlite(let file) = try DatabaseLocation(parsing: from) else {
                throw CLIError(status: 64, message: "--from takes sqlite:PATH")
            }
            guard case .postgres(let target) = try DatabaseLocation(parsing: to) else {
                throw CLIError(status: 64, message: "--to takes postgres://USER@HOST:PORT/DATABASE")
            }
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw CLIError(status: 66, message: "no registry at \(file.path)")
            }
            let export = try await SQLiteRegistry.open(at: file).export()
            let registry = try await PostgresRegistry.open(target, password: try databasePassword(file: databasePasswordFile))
            do {
                try await registry.importing(export)
                let copied = try await registry.counts()
                await registry.close()
                print("table        sqlite  postgres")
                for table in export.counts.keys.sorted() {
                    let source = export.counts[table] ?? 0
                    let destination = copied[table] ?? -1
                    print(
                        table.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "%7d  %8d", source, destination)
                            + (source == destination ? "" : "  ← differs"))
                }
                guard copied == export.counts else {
                    throw CLIError(status: 70, message: "the copy does not hold what the source holds; do not switch to it")
                }
                note("Copied and verified: switch the service with --database \(target) and give each instance the CA files and authority.key.")
            } catch {
                await registry.close()
                throw error
            }
        }
    }
}
