import Activation
import ArgumentParser
import Authority
import AuthorityInterface
import Foundation
import Logging

/// A command-line problem that is not a domain rule: unreadable files, bad option values.
package struct CLIError: Error {
    package let status: Int32
    package let message: String

    package init(status: Int32, message: String) {
        self.status = status
        self.message = message
    }
}

/// The language for messages: `--lang` if given, else `LANG`/`LC_ALL` starting with `fr`, else English.
package func defaultLanguage(_ explicit: Language?) -> Language {
    if let explicit { return explicit }
    let environment = ProcessInfo.processInfo.environment
    let locale = environment["LC_ALL"] ?? environment["LC_MESSAGES"] ?? environment["LANG"] ?? ""
    return locale.hasPrefix("fr") ? .fr : .en
}

extension Language: ExpressibleByArgument {}
extension KeyAlgorithm: ExpressibleByArgument {}

/// An activation error to be reported in the application's language rather than the default one.
package struct LocalizedFailure: Error {
    package let error: ActivationError
    package let language: Language

    package init(error: ActivationError, language: Language) {
        self.error = error
        self.language = language
    }
}

/// Writes one line to standard error.
package func printError(_ text: String) {
    FileHandle.standardError.write(Data((InputText.printable(text, limit: 2_000) + "\n").utf8))
}

/// Writes a line to standard error (progress and notes, so stdout stays machine-readable).
package func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Runs a command body, turning every error into one clear line on stderr (after the program's name) and an exit
/// status; a message that sends the person to customer service names `customerService()`'s contact.
package func runReportingErrors(
    language: Language, program: ProgramContext, customerService: () -> CustomerService? = { nil }, _ body: () async throws -> Void
) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        let (status, message) = describe(error, language: language, customerService: customerService())
        printError(program.name + ": " + message)
        throw ExitCode(status)
    }
}

/// The exit status and the one-line message for an error.
package func describe(_ error: any Error, language: Language, customerService: CustomerService? = nil) -> (Int32, String) {
    switch error {
    case let error as CLIError:
        return (error.status, error.message)
    case let failure as LocalizedFailure:
        return describe(failure.error, language: failure.language, customerService: customerService)
    default:
        // The same message the wizard shows for this error.
        let description = ErrorDescription(error)
        return (description.exitStatus, description.message(Localizer(language, customerService: customerService)))
    }
}

/// Reads a small text file (or stdin for `-`) strictly: at most 64 KiB, valid UTF-8.
package func readTextFile(_ path: String, field: InputField = .file, language: Language) throws -> String {
    let localizer = Localizer(language)
    let limit = InputField.file.limit
    var bytes: [UInt8] = []
    if path == "-" {
        while bytes.count <= limit {
            let chunk = FileHandle.standardInput.readData(ofLength: 4_096)
            if chunk.isEmpty { break }
            bytes.append(contentsOf: chunk)
        }
    } else {
        let cannotRead = CLIError(status: ExitStatus.noInput, message: localizer.text("cli.error.cannotRead", ["path": InputText.printable(path)]))
        // A folder opens for reading on Linux, then every read fails: that is "cannot read", not empty data.
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
            let handle = FileHandle(forReadingAtPath: path)
        else { throw cannotRead }
        defer { try? handle.close() }
        do {
            bytes = Array(try handle.read(upToCount: limit + 1) ?? Data())
        } catch {
            throw cannotRead
        }
    }
    if bytes.count > limit {
        throw ActivationError(.invalidInput(field: .file, problem: .tooLong))
    }
    return try InputText.decode(bytes, field: field)
}

/// The lines of a file, without line terminators; trailing empty lines dropped.
package func lines(_ text: String) -> [String] {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
    }
    while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
    return lines
}

/// Reads exactly three answers, one a line.
package func readAnswers(_ path: String, language: Language) throws -> [SecurityAnswer] {
    let text = try readTextFile(path, field: .answer, language: language)
    let answers = lines(text)
    guard answers.count == ActivationPolicy.questionCount else {
        throw CLIError(status: ExitStatus.dataError, message: Localizer(language).text("cli.error.answersCount"))
    }
    return try answers.map { SecurityAnswer(try InputText.validate($0, field: .answer)) }
}

/// Reads a password: the first line of the file (or stdin for `-`), without its line ending.
package func readPassword(_ path: String, language: Language) throws -> Password {
    let text = try readTextFile(path, field: .password, language: language)
    var line = Substring(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    if line.hasSuffix("\r") { line = line.dropLast() }
    if line.isEmpty { throw ActivationError(.invalidInput(field: .password, problem: .empty)) }
    return Password(try InputText.validate(String(line), field: .password))
}

/// Options every command that touches the data directory takes.
package struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data directory (default: $PARAPHE_HOME, else $XDG_DATA_HOME/paraphe, else ~/.local/share/paraphe).")
    package var dataDir: String?

    package init() {}

    package var dataDirectory: URL { DataDirectory.resolve(explicit: dataDir) }

    /// What every command this program suggests carries: this data directory (always explicit, so it works as
    /// printed whatever the environment) and `profileDir` when one was given.
    package func commandOptions(profileDir: String? = nil) -> CommandOptions {
        CommandOptions(dataDirectory: dataDirectory.path, profileDirectory: profileDir.map { URL(fileURLWithPath: $0).path })
    }

    /// The authority of an existing data directory, for commands that only read: they never create
    /// a data directory (and its CA, registry and mail folder) where there was none.
    package func existingAuthority(language: Language, program: ProgramContext) throws -> EmbeddedAuthority {
        guard exists else { throw noDataDirectory(language) }
        return try authority(program)
    }

    func noDataDirectory(_ language: Language) -> CLIError {
        CLIError(
            status: ExitStatus.noInput,
            message: Localizer(language).text(
                "cli.error.noDataDirectory", ["path": InputText.printable(dataDirectory.path, limit: 1_000)]))
    }

    /// Whether a data directory with an authority exists here.
    package var exists: Bool { FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("registry.sqlite").path) }

    /// The embedded authority on the data directory.
    package func authority(_ program: ProgramContext) throws -> EmbeddedAuthority {
        try EmbeddedAuthority(configuration: configuration(program))
    }

    /// The authority's configuration on this data directory, on the program's clock, with the customer service its
    /// `customer-service.toml` names (`customerService`: another file instead).
    package func configuration(_ program: ProgramContext, customerService file: String? = nil) throws -> AuthorityConfiguration {
        var configuration = AuthorityConfiguration(dataDirectory: dataDirectory)
        configuration.time = program.hooks.clock
        let contactFile = file.map { URL(fileURLWithPath: $0) } ?? dataDirectory.appendingPathComponent(Self.customerServiceFile)
        if file != nil, !FileManager.default.fileExists(atPath: contactFile.path) {
            throw CLIError(status: ExitStatus.noInput, message: "no customer service file at \(InputText.printable(contactFile.path, limit: 1_000))")
        }
        configuration.customerService = try CustomerService.load(contactFile, language: defaultLanguage(nil))
        return configuration
    }

    /// The authority's customer service, in its data directory (docs/ca-operator.md).
    package static let customerServiceFile = "customer-service.toml"
}

/// The data directory and the registry of an authority's host, for the operator commands and `serve`:
/// `--database` names the registry when it is not the data directory's SQLite file.
package struct RegistryOptions: ParsableArguments {
    @OptionGroup package var data: DataOptions
    @Option(
        name: .customLong("database"),
        help: ArgumentHelp(
            "The registry: sqlite:PATH (default: DATA_DIR/registry.sqlite) or postgres://USER@HOST:PORT/DATABASE (paraphe-authority).",
            discussion:
                "PostgreSQL: the password comes from PGPASSWORD or --database-password-file, never from the URL; ?sslmode=require|disable (default: require unless the host is loopback), ?sslrootcert=PATH."
        ))
    package var database: String?
    @Option(name: .customLong("database-password-file"), help: "A file whose first line is the PostgreSQL password (instead of PGPASSWORD).")
    package var databasePasswordFile: String?
    @Option(
        name: .customLong("mail"), help: "Where the emails go: maildir:DIR (default: DATA_DIR/mail) or sendmail:PATH (a sendmail-compatible program)."
    )
    package var mail: String?
    @Option(
        name: .customLong("customer-service"),
        help: "A TOML file naming the customer service the emails and GET /api/v1/about give (default: DATA_DIR/customer-service.toml, if it exists)."
    )
    package var customerService: String?

    package init() {}

    package var dataDirectory: URL { data.dataDirectory }

    /// The registry `--database` names (nil: the data directory's SQLite file).
    package var location: DatabaseLocation? {
        get throws { try database.map { text throws(AuthorityError) in try DatabaseLocation(parsing: text) } }
    }

    /// Whether an authority exists here: its CA, and its SQLite registry unless that is a PostgreSQL database.
    package var exists: Bool {
        get throws {
            switch try location {
            case nil: return data.exists
            case .sqlite(let file): return FileManager.default.fileExists(atPath: file.path)
            case .postgres: return FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("ca/ca-cert.pem").path)
            }
        }
    }

    /// The authority of an existing data directory (commands that only read never create one).
    package func existingAuthority(language: Language, program: ProgramContext) async throws -> EmbeddedAuthority {
        guard try exists else { throw data.noDataDirectory(language) }
        return try await authority(program)
    }

    /// The authority on the data directory, with the registry `--database` names.
    package func authority(_ program: ProgramContext) async throws -> EmbeddedAuthority {
        var configuration = try data.configuration(program, customerService: customerService)
        configuration.mail = try mail.map { text throws(AuthorityError) in try MailDestination(parsing: text) }
        configuration.checkpoint = program.hooks.authorityCheckpoint
        switch try location {
        case nil:
            return try EmbeddedAuthority(configuration: configuration)
        case .sqlite(let file):
            configuration.registryFile = file
            return try EmbeddedAuthority(configuration: configuration)
        case .postgres(let database):
            guard let open = program.openPostgres else {
                throw CLIError(
                    status: ExitStatus.usage, message: "\(program.name) keeps its registry in SQLite; a PostgreSQL registry is paraphe-authority's")
            }
            return try await open(configuration, database, try databasePassword(file: databasePasswordFile))
        }
    }
}

/// The PostgreSQL password: the first line of `file` (--database-password-file), else PGPASSWORD, else none.
package func databasePassword(file: String?) throws -> String? {
    if let file {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw CLIError(status: ExitStatus.noInput, message: "cannot read the database password file \(file)")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }
    return ProcessInfo.processInfo.environment["PGPASSWORD"]
}

/// What the program is started with besides its arguments: the clock, and an observer of an
/// activation's named moments.
///
/// The programs start with the system clock and no observer; the test binaries inject a fixed
/// clock and crash points.
public struct ParapheHooks: Sendable {
    public var clock: any TimeSource
    public var checkpoint: @Sendable (ActivationCheckpoint) -> Void
    public var authorityCheckpoint: @Sendable (AuthorityCheckpoint) -> Void

    public init(
        clock: any TimeSource = SystemTimeSource(), checkpoint: @escaping @Sendable (ActivationCheckpoint) -> Void = { _ in },
        authorityCheckpoint: @escaping @Sendable (AuthorityCheckpoint) -> Void = { _ in }
    ) {
        self.clock = clock
        self.checkpoint = checkpoint
        self.authorityCheckpoint = authorityCheckpoint
    }

}

/// What a program hands each command as it runs, besides the command's own arguments: its name in messages, the
/// hooks it was started with (clock, observers), and how it opens an authority on a PostgreSQL registry — only
/// `paraphe-authority` can (the kiosk's `paraphe` carries no database client, and refuses `--database postgres://`).
public struct ProgramContext: Sendable {
    package typealias OpenPostgres = @Sendable (AuthorityConfiguration, PostgresLocation, String?) async throws -> EmbeddedAuthority
    package var name: String
    package var hooks: ParapheHooks
    package var openPostgres: OpenPostgres?

    package init(name: String, hooks: ParapheHooks, openPostgres: OpenPostgres? = nil) {
        self.name = name
        self.hooks = hooks
        self.openPostgres = openPostgres
    }
}

/// A command that runs with the program's context (`runCommandLine` calls `run(in:)`, never `run()`).
package protocol ProgramCommand: AsyncParsableCommand {
    func run(in program: ProgramContext) async throws
}

extension ProgramCommand {
    /// Not the way in: `runCommandLine` hands the command its program's context.
    package func run() async throws {
        throw CLIError(status: ExitStatus.software, message: "\(Self._commandName) runs only through its program's command line")
    }
}

/// Runs a program's command line: sets up logging, parses the arguments with `root` and runs the command with the
/// program's context; a parse error or `ExitCode` ends the process the ArgumentParser way.
package func runCommandLine(_ root: any ParsableCommand.Type, program: ProgramContext, logLevel: Logger.Level) async {
    bootstrapLogging(defaultLevel: logLevel)
    do {
        var command = try root.parseAsRoot(nil)
        if let programCommand = command as? any ProgramCommand {
            try await programCommand.run(in: program)
        } else if var asyncCommand = command as? AsyncParsableCommand {
            try await asyncCommand.run()
        } else {
            try command.run()
        }
    } catch {
        root.exit(withError: error)
    }
}

/// Logs go to standard error, at `PARAPHE_LOG_LEVEL` (default warning).
package func bootstrapLogging(defaultLevel: Logger.Level = .warning) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        let level = ProcessInfo.processInfo.environment["PARAPHE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        handler.logLevel = level ?? defaultLevel
        return handler
    }
}
