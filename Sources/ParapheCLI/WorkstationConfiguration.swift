import Activation
import ArgumentParser
import Authority
import AuthorityClient
import AuthorityInterface
import Foundation
import OperatorCommands
import TOMLKit
import Wizard
import Workstation

/// A workstation's settings from its configuration file: `$XDG_CONFIG_HOME/paraphe/config.toml` (else
/// `~/.config/paraphe/config.toml`), then `/etc/paraphe/config.toml`, the first that exists.
///
/// A flag on the command line wins over the file. A kiosk is configured here, not by its command line:
///
/// ```toml
/// data_dir = "/var/lib/paraphe"
/// language = "fr"
///
/// [authority]
/// url = "https://ca.example.org:8443"
/// fingerprint = "3F:9A:…"        # SHA-256 of the CA certificate; required in kiosk mode
/// connect_timeout = 5             # seconds
/// request_timeout = 30
///
/// [kiosk]
/// enabled = true
/// idle_timeout = 120
/// profile_dir = "/media/paraphe"
///
/// [customer_service]             # the kiosk's own help desk, instead of the authority's
/// name = "Library help desk"
/// phone = "+1 514 555-0123"
/// [customer_service.fr]
/// name = "Comptoir d'aide de la bibliothèque"
/// ```
package struct WorkstationConfiguration: Sendable, Equatable {
    var dataDirectory: String?
    var language: Language?
    var authorityURL: String?
    var fingerprint: String?
    var connectTimeout: Int?
    var requestTimeout: Int?
    var kiosk: Bool?
    var idleTimeout: Int?
    var profileDirectory: String?
    /// Days before expiry from which a log-in offers to update the profile.
    var updateWindowDays: Int?
    /// A local help desk that replaces the authority's customer service in every message (`[customer_service]`).
    var customerService: CustomerService?
    /// The file these came from (nil: no file).
    var source: URL?

    /// The files looked for, in order.
    static func candidates(environment: [String: String] = ProcessInfo.processInfo.environment) -> [URL] {
        var files: [URL] = []
        if let explicit = environment["PARAPHE_CONFIG"], !explicit.isEmpty {
            return [URL(fileURLWithPath: explicit)]
        }
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            files.append(URL(fileURLWithPath: xdg).appendingPathComponent("paraphe/config.toml"))
        } else if let home = environment["HOME"], !home.isEmpty {
            files.append(URL(fileURLWithPath: home).appendingPathComponent(".config/paraphe/config.toml"))
        }
        files.append(URL(fileURLWithPath: "/etc/paraphe/config.toml"))
        return files
    }

    /// The first configuration file that exists, read; none is an empty configuration.
    static func load(language: Language) throws -> WorkstationConfiguration {
        for file in candidates() where FileManager.default.fileExists(atPath: file.path) {
            let text = try readTextFile(file.path, language: language)
            return try parse(text, source: file)
        }
        return WorkstationConfiguration()
    }

    package static func parse(_ text: String, source: URL?) throws -> WorkstationConfiguration {
        let path = source?.path ?? "config.toml"
        func invalid(_ why: String) -> CLIError { TOMLText.invalid(path, why) }
        let table = try TOMLText.parse(text, path: path)
        let known: [String: Set<String>] = [
            "": ["data_dir", "language", "authority", "kiosk", "profile", "customer_service"],
            "profile": ["update_window_days"],
            "authority": ["url", "fingerprint", "connect_timeout", "request_timeout"],
            "kiosk": ["enabled", "idle_timeout", "profile_dir"],
        ]
        for key in table.keys where !(known[""]?.contains(key) ?? false) { throw invalid("unknown setting \(key)") }
        var configuration = WorkstationConfiguration(source: source)
        func string(_ table: TOMLTable, _ key: String, _ section: String) throws -> String? {
            try TOMLText.string(table, key, section, path: path)
        }
        func integer(_ table: TOMLTable, _ key: String, _ section: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let value = table[key] else { return nil }
            guard let number = value.int, range.contains(number) else {
                throw invalid("\(section)\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        configuration.dataDirectory = try string(table, "data_dir", "")
        if let language = try string(table, "language", "") {
            guard let value = Language(rawValue: language) else { throw invalid("language must be en or fr") }
            configuration.language = value
        }
        for section in ["authority", "kiosk", "profile", "customer_service"] where table[section] != nil && table[section]?.table == nil {
            throw invalid("[\(section)] must be a table")
        }
        if let authority = table["authority"]?.table {
            for key in authority.keys where !(known["authority"]?.contains(key) ?? false) { throw invalid("unknown setting authority.\(key)") }
            configuration.authorityURL = try string(authority, "url", "authority.")
            configuration.fingerprint = try string(authority, "fingerprint", "authority.")
            configuration.connectTimeout = try integer(authority, "connect_timeout", "authority.", 1...300)
            configuration.requestTimeout = try integer(authority, "request_timeout", "authority.", 1...600)
        }
        if let kiosk = table["kiosk"]?.table {
            for key in kiosk.keys where !(known["kiosk"]?.contains(key) ?? false) { throw invalid("unknown setting kiosk.\(key)") }
            if let enabled = kiosk["enabled"] {
                guard let flag = enabled.bool else { throw invalid("kiosk.enabled must be true or false") }
                configuration.kiosk = flag
            }
            configuration.idleTimeout = try integer(kiosk, "idle_timeout", "kiosk.", WizardState.idleTimeoutRange)
            configuration.profileDirectory = try string(kiosk, "profile_dir", "kiosk.")
        }
        if let profile = table["profile"]?.table {
            for key in profile.keys where !(known["profile"]?.contains(key) ?? false) { throw invalid("unknown setting profile.\(key)") }
            configuration.updateWindowDays = try integer(profile, "update_window_days", "profile.", 0...3_650)
        }
        if let contact = table["customer_service"]?.table {
            configuration.customerService = try CustomerService.parse(contact, section: "customer_service.", path: path)
        }
        return configuration
    }
}

/// How a workstation command reaches its authority: `--authority` (or the configuration file's
/// `[authority] url`) for a networked one, else the embedded authority of the data directory.
struct AuthorityOptions: ParsableArguments {
    @Option(
        name: .customLong("authority"),
        help: "The certification authority's service, https://HOST:PORT (default: the embedded authority, or the configuration file's).")
    var url: String?
    @Option(
        name: .customLong("authority-fingerprint"),
        help: "SHA-256 fingerprint of the authority's CA certificate (hex, colons optional); required in kiosk mode.")
    var fingerprint: String?
}

/// What a workstation command runs with once flags and the configuration file are merged.
struct WorkstationSetup: Sendable {
    var configuration: WorkstationConfiguration
    var endpoint: AuthorityEndpoint?
    /// The program the command runs in (its clock and observers).
    var program: ProgramContext

    /// How long before expiry a log-in offers to update the profile when the configuration says nothing.
    static let defaultUpdateWindow: TimeInterval = 60 * 86_400

    /// `[profile] update_window_days` of the configuration file, else 60 days.
    var updateWindow: TimeInterval { configuration.updateWindowDays.map { TimeInterval($0) * 86_400 } ?? Self.defaultUpdateWindow }

    /// The activation pipeline on `authority`, with the program's hooks and the configuration's update window.
    func activationService(authority: any Authority, paths: WorkstationPaths, fixedProfileDirectory: Bool = false) -> ActivationService {
        ParapheCLI.activationService(
            authority: authority, paths: paths, fixedProfileDirectory: fixedProfileDirectory, program: program, updateWindow: updateWindow,
            localCustomerService: configuration.customerService)
    }

    /// Whom a command's messages name without asking anyone: `WorkstationPaths.knownCustomerService`, else the embedded authority's own file.
    ///
    /// Read only when a message needs it.
    func knownCustomerService(_ data: DataOptions) -> CustomerService? {
        if let known = WorkstationPaths(dataDirectory: data.dataDirectory).knownCustomerService(local: configuration.customerService) {
            return known
        }
        guard endpoint == nil else { return nil }
        let file = data.dataDirectory.appendingPathComponent(DataOptions.customerServiceFile)
        return try? CustomerService.load(file, language: .en)
    }

    /// Merges `options` over the configuration file; `data` gets the file's data directory unless given.
    static func resolve(_ options: AuthorityOptions, data: inout DataOptions, language: Language, program: ProgramContext) throws -> WorkstationSetup
    {
        let configuration = try WorkstationConfiguration.load(language: language)
        if data.dataDir == nil { data.dataDir = configuration.dataDirectory }
        var endpoint: AuthorityEndpoint?
        if let url = options.url ?? configuration.authorityURL {
            var parsed: AuthorityEndpoint
            do {
                parsed = try AuthorityEndpoint(parsing: url, fingerprint: options.fingerprint ?? configuration.fingerprint)
            } catch {
                // A mistyped setting, not a network event.
                throw CLIError(status: ExitStatus.usage, message: error.reason)
            }
            if let seconds = configuration.connectTimeout { parsed.connectTimeout = .seconds(seconds) }
            if let seconds = configuration.requestTimeout { parsed.requestTimeout = .seconds(seconds) }
            endpoint = parsed
        } else if options.fingerprint != nil {
            throw ValidationError("--authority-fingerprint goes with --authority (or [authority] url in the configuration file).")
        }
        return WorkstationSetup(configuration: configuration, endpoint: endpoint, program: program)
    }

    /// The authority: networked if an endpoint is set (its trust anchor in the data directory's trust
    /// store), else the embedded one on the data directory.
    func authority(_ data: DataOptions) throws -> any Authority {
        if let endpoint {
            let paths = WorkstationPaths(dataDirectory: data.dataDirectory)
            try FileManager.default.createDirectory(at: data.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            return NetworkAuthority(endpoint: endpoint, trustStore: paths.trustedCA, time: program.hooks.clock)
        }
        return try data.authority(program)
    }

    /// For commands that only read: the embedded authority must already exist; a networked one is fine.
    func existingAuthority(_ data: DataOptions, language: Language) throws -> any Authority {
        endpoint == nil ? try data.existingAuthority(language: language, program: program) : try authority(data)
    }

    /// The authority, for a command that will send it something (a token, an answer, a code, a reference number,
    /// an address, a profile's signature): a networked one must be vouched for first — its fingerprint pinned, or its
    /// CA in this workstation's trust store — else the command stops (64) with the fingerprint it offers and how to
    /// pin it, having fetched nothing but the CA certificate.
    ///
    /// `existing`: the embedded authority must exist already.
    func vouchedAuthority(_ data: DataOptions, language: Language, existing: Bool = false) async throws -> any Authority {
        let authority = existing ? try existingAuthority(data, language: language) : try self.authority(data)
        if endpoint != nil, let fingerprint = try await authority.caFingerprintToConfirm() {
            throw AuthorityConnectionError(.notPinned, fingerprint)
        }
        return authority
    }
}
