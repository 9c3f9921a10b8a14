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
        func invalid(_ why: String) -> CLIError {
            CLIError(status: ExitStatus.dataError, message: "\(InputText.printable(path, limit: 1_000)): \(why)")
        }
        if let (line, why) = Self.shapeProblem(text) { throw invalid("not valid TOML (line \(line): \(why))") }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw invalid("not valid TOML (line \(error.source.begin.line): \(error.description))")
        } catch {
            throw invalid("not valid TOML")
        }
        let known: [String: Set<String>] = [
            "": ["data_dir", "language", "authority", "kiosk", "profile"],
            "profile": ["update_window_days"],
            "authority": ["url", "fingerprint", "connect_timeout", "request_timeout"],
            "kiosk": ["enabled", "idle_timeout", "profile_dir"],
        ]
        for key in table.keys where !(known[""]?.contains(key) ?? false) { throw invalid("unknown setting \(key)") }
        var configuration = WorkstationConfiguration(source: source)
        func string(_ table: TOMLTable, _ key: String, _ section: String) throws -> String? {
            guard let value = table[key] else { return nil }
            guard let text = value.string else { throw invalid("\(section)\(key) must be a string") }
            return text
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
        for section in ["authority", "kiosk", "profile"] where table[section] != nil && table[section]?.table == nil {
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
        return configuration
    }
}

extension WorkstationConfiguration {
    /// The first line whose shape this file cannot have, and why; nil when every line is a comment, a table header
    /// (`[name]`, `[a.b]`) or `key = value`.
    ///
    /// Checked before the text reaches toml++ (TOMLKit's parser), which asserts — aborting the program — on some
    /// malformed keys and headers (found by the fuzzer: `[+++ …`); the configuration uses only this part of TOML (no
    /// arrays of tables, no values over several lines).
    static func shapeProblem(_ text: String) -> (line: Int, why: String)? {
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = Array(raw.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r"))).unicodeScalars)
            guard let first = line.first, first != "#" else { continue }
            if line.count >= 3,
                line.indices.dropLast(2).contains(where: {
                    line[$0] == line[$0 + 1] && line[$0] == line[$0 + 2] && (line[$0] == "\"" || line[$0] == "'")
                })
            {
                return (index + 1, "strings over several lines are not used in this file")
            }
            if first == "[" {
                guard var end = keyEnd(line, from: 1), end < line.count, line[end] == "]" else {
                    return (index + 1, "a table header is [name] or [name.name], names made of letters, digits, - and _, or quoted")
                }
                end = skipBlanks(line, from: end + 1)
                guard end == line.count || line[end] == "#" else { return (index + 1, "nothing but a comment may follow a table header") }
            } else {
                guard let end = keyEnd(line, from: 0), end < line.count, line[end] == "=" else {
                    return (index + 1, "a setting is name = value, the name made of letters, digits, - and _, or quoted")
                }
            }
        }
        return nil
    }

    /// Where a (dotted) key that starts at `start`, blanks allowed around its parts, ends (after its trailing blanks).
    private static func keyEnd(_ line: [Unicode.Scalar], from start: Int) -> Int? {
        var index = skipBlanks(line, from: start)
        while true {
            guard index < line.count else { return nil }
            let first = line[index]
            if first == "\"" || first == "'" {
                index += 1
                while index < line.count, line[index] != first {
                    if first == "\"", line[index] == "\\" { index += 1 }
                    index += 1
                }
                guard index < line.count else { return nil }
                index += 1
            } else {
                let bare = { (scalar: Unicode.Scalar) in
                    scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
                }
                guard bare(first) else { return nil }
                while index < line.count, bare(line[index]) { index += 1 }
            }
            index = skipBlanks(line, from: index)
            guard index < line.count, line[index] == "." else { return index }
            index = skipBlanks(line, from: index + 1)
        }
    }

    private static func skipBlanks(_ line: [Unicode.Scalar], from start: Int) -> Int {
        var index = start
        while index < line.count, line[index] == " " || line[index] == "\t" { index += 1 }
        return index
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
            authority: authority, paths: paths, fixedProfileDirectory: fixedProfileDirectory, program: program, updateWindow: updateWindow)
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
