import Activation
import Crypto
import Foundation
import Keystore
import ParapheShared
import SwiftASN1
import X509

/// Makes a profile available to the person's applications through the security provider, and undoes exactly that.
///
/// Through the PKCS#11 module `libparaphe-pkcs11.so`:
///
/// - the token file the module reads (`ProviderToken`: the profile's path and its public certificates);
/// - the module registered with p11-kit for the user (`~/.config/pkcs11/modules/paraphe.module`: GnuTLS, p11-kit
///   proxy users; p11-kit ignores a user's configuration when the user is root);
/// - the module added to the user's NSS databases (`~/.pki/nssdb`, created if missing, and every Firefox and
///   Thunderbird profile found), with the authority's CA trusted there for email and document signing only
///   (NSS trust `,C,C`, never for TLS). A database an application has open is never edited: it is reported, and
///   the person closes the application and runs the command again.
///
/// What was added is recorded (`provider.json` beside the token directory), so `uninstall` removes that and only
/// that: the module and CA from the databases it added them to, the p11-kit file, a database it created.
public struct ProviderRegistration: Sendable {
    /// The module's path (absolute).
    public var module: String
    /// The user's home directory.
    public var home: String
    /// Where the module reads its tokens.
    public var tokenDirectory: String
    /// The NSS tools (`modutil`, `certutil`) are looked up here.
    public var toolDirectory: String

    /// The name the module has in NSS databases and in p11-kit.
    public static let moduleName = "Paraphe"

    public init(module: String, home: String, tokenDirectory: String, toolDirectory: String = "/usr/bin") {
        self.module = module
        self.home = home
        self.tokenDirectory = tokenDirectory
        self.toolDirectory = toolDirectory
    }

    /// The registration for this user, with the module found beside the running program (a build directory,
    /// `PREFIX/lib/paraphe/` for `scripts/install`, or the system's PKCS#11 directory for the package).
    public static func forCurrentUser() throws -> ProviderRegistration {
        guard let module = locateModule() else {
            throw WorkstationError(.provider, "libparaphe-pkcs11.so was not found beside the program nor in /usr/lib/*/pkcs11")
        }
        guard let tokens = ProviderToken.directory() else { throw WorkstationError(.provider, "no home directory") }
        // The home of the NSS databases and of p11-kit's user configuration: HOME, else the password database's.
        let environmentHome = ProcessInfo.processInfo.environment["HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        guard let home = environmentHome ?? getpwuid(getuid()).flatMap({ $0.pointee.pw_dir.map { String(cString: $0) } }) else {
            throw WorkstationError(.provider, "no home directory")
        }
        return ProviderRegistration(module: module, home: home, tokenDirectory: tokens)
    }

    /// The module's file: beside the program, in `../lib/paraphe/`, or in the system's PKCS#11 directory.
    public static func locateModule() -> String? {
        let name = "libparaphe-pkcs11.so"
        var candidates: [String] = []
        if let program = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let directory = URL(fileURLWithPath: program).deletingLastPathComponent()
            candidates.append(directory.appendingPathComponent(name).path)
            candidates.append(directory.deletingLastPathComponent().appendingPathComponent("lib/paraphe/\(name)").path)
        }
        candidates += ["/usr/lib/x86_64-linux-gnu/pkcs11/\(name)", "/usr/lib/aarch64-linux-gnu/pkcs11/\(name)", "/usr/lib/pkcs11/\(name)"]
        return candidates.first { FileManager.default.isReadableFile(atPath: $0) }.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
    }

    /// What an install or uninstall did, for the person.
    public struct Report: Sendable, Equatable {
        /// The token's label (what applications show: the profile's name).
        public var label: String = ""
        /// The certificate's nickname in NSS: "TOKEN:CERTIFICATE" (what `pdfsig -nick` and `certutil -n` take).
        public var nickname: String = ""
        /// The p11-kit module file written or removed (nil: left as it was).
        public var p11kitFile: String?
        /// Whether p11-kit will ignore the user's file (the user is root).
        public var p11kitIgnoresRoot = false
        /// The NSS databases changed.
        public var databases: [String] = []
        /// The NSS databases left alone because an application has them open (program names).
        public var busy: [String: String] = [:]
    }

    // MARK: The record

    struct Record: Codable, Equatable {
        struct Database: Codable, Equatable {
            /// Whether the module was added by Paraphe (and so is removed by it).
            var module = false
            /// CA nicknames added by Paraphe, with the SHA-256 of each certificate.
            var authorities: [String: String] = [:]
            /// Whether Paraphe created the database.
            var created = false
        }
        var p11kitFile: String?
        var databases: [String: Database] = [:]
    }

    var recordFile: String { URL(fileURLWithPath: tokenDirectory).deletingLastPathComponent().appendingPathComponent("provider.json").path }

    func readRecord() -> Record {
        guard let data = FileManager.default.contents(atPath: recordFile), data.count < 1 << 20,
            let record = try? JSONDecoder().decode(Record.self, from: data)
        else { return Record() }
        return record
    }

    func writeRecord(_ record: Record) throws {
        if record == Record() {
            try? FileManager.default.removeItem(atPath: recordFile)
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(record)
        try AtomicFile.write(Array(data), to: URL(fileURLWithPath: recordFile), mode: 0o600)
    }

    // MARK: Install

    /// Installs the token for `profile` (its certificate and chain from `contents`, already checked by the caller).
    public func install(profile: URL, certificate: Certificate, chain: [Certificate], trustedCA: Certificate) throws -> Report {
        var report = Report()
        // The profile's name, unless another installed profile (same file name, another folder) has it: then "NAME-2"….
        let path = profile.standardizedFileURL.path
        let installed = ProviderToken.loadAll(from: tokenDirectory)
        let others = installed.filter { $0.profile != path }.map(\.label)
        let base = ProviderToken.label(forProfileNamed: profile.lastPathComponent)
        var label = installed.first { $0.profile == path }?.label ?? base
        var suffix = 2
        while others.contains(label) {
            let tail = "-\(suffix)"
            var stem = base
            while stem.utf8.count + tail.utf8.count > ProviderToken.maximumLabelBytes { stem.removeLast() }
            label = stem + tail
            suffix += 1
        }
        report.label = label
        report.nickname = label + ":" + Self.commonName(of: certificate, otherwise: label)
        let der = try ([certificate] + chain).map { try Self.der($0) }
        let token = ProviderToken(label: label, profile: path, certificates: der)
        do {
            try FileManager.default.createDirectory(atPath: tokenDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try AtomicFile.write(
                Array(try token.encoded().utf8), to: URL(fileURLWithPath: tokenDirectory).appendingPathComponent(token.fileName), mode: 0o644)
        } catch {
            throw WorkstationError(.provider, "cannot write the token file in \(tokenDirectory)")
        }

        var record = readRecord()
        // p11-kit, for the user.
        let p11kit = home + "/.config/pkcs11/modules/paraphe.module"
        let moduleText =
            "# Paraphe's keystore provider (written by `paraphe profile install`; removed by `paraphe profile uninstall`).\nmodule: \(module)\ncritical: no\n"
        if FileManager.default.contents(atPath: p11kit).map({ String(decoding: $0, as: UTF8.self) }) != moduleText {
            do {
                try FileManager.default.createDirectory(atPath: home + "/.config/pkcs11/modules", withIntermediateDirectories: true)
                try AtomicFile.write(Array(moduleText.utf8), to: URL(fileURLWithPath: p11kit), mode: 0o644)
            } catch {
                throw WorkstationError(.provider, "cannot write \(p11kit)")
            }
        }
        record.p11kitFile = p11kit
        report.p11kitFile = p11kit
        report.p11kitIgnoresRoot = getuid() == 0

        // NSS: the shared database (created if missing) and the Firefox and Thunderbird profiles.
        let shared = home + "/.pki/nssdb"
        var databases = nssDatabases()
        if !databases.contains(shared) {
            try nss("certutil", ["-N", "-d", "sql:" + shared, "--empty-password"], creating: shared)
            record.databases[shared, default: Record.Database()].created = true
            databases.insert(shared, at: 0)
        }
        let authority = try Self.der(trustedCA)
        let authorityName = Self.nickname(of: trustedCA)
        let fingerprint = Hex.uppercase(SHA256.hash(data: authority))
        let inUse = DatabaseUse.programs(using: databases)
        for database in databases {
            if let program = inUse[database] {
                report.busy[database] = program
                continue
            }
            var entry = record.databases[database, default: Record.Database()]
            if !(try moduleListed(in: database)) {
                try nss("modutil", ["-dbdir", "sql:" + database, "-add", Self.moduleName, "-libfile", module, "-force"])
                entry.module = true
            }
            let present = try certificateDER(named: authorityName, in: database)
            if present != authority {
                let nickname = present == nil ? authorityName : "\(authorityName) \(fingerprint.prefix(8))"
                if try certificateDER(named: nickname, in: database) != authority {
                    try addAuthority(trustedCA, nickname: nickname, to: database)
                    entry.authorities[nickname] = fingerprint
                }
            }
            record.databases[database] = entry
            report.databases.append(database)
        }
        try writeRecord(record)
        return report
    }

    // MARK: Uninstall

    /// Removes the token of `profile`; with the last token, everything the installs added.
    ///
    /// Returns what was done; `busy` lists the databases left as they were (the command asks to close those
    /// applications and run again).
    public func uninstall(profile: URL) throws -> Report {
        var report = Report()
        let path = profile.standardizedFileURL.path
        let tokens = ProviderToken.loadAll(from: tokenDirectory)
        for token in tokens where token.profile == path {
            report.label = token.label
            try? FileManager.default.removeItem(atPath: tokenDirectory + "/" + token.fileName)
        }
        let remaining = tokens.filter { $0.profile != path }
        var record = readRecord()
        let stillTrusted = Set(remaining.flatMap { $0.certificates.dropFirst() }.map { Hex.uppercase(SHA256.hash(data: $0)) })
        let inUse = DatabaseUse.programs(using: Array(record.databases.keys))
        for (database, entry) in record.databases.sorted(by: { $0.key < $1.key }) {
            guard FileManager.default.fileExists(atPath: database + "/cert9.db") else {
                record.databases[database] = nil
                continue
            }
            if let program = inUse[database] {
                report.busy[database] = program
                continue
            }
            var kept = entry
            for (nickname, fingerprint) in entry.authorities where !stillTrusted.contains(fingerprint) {
                try nss("certutil", ["-D", "-d", "sql:" + database, "-n", nickname])
                kept.authorities[nickname] = nil
            }
            if remaining.isEmpty, entry.module {
                if try moduleListed(in: database) { try nss("modutil", ["-dbdir", "sql:" + database, "-delete", Self.moduleName, "-force"]) }
                kept.module = false
            }
            if remaining.isEmpty, entry.created, try databaseIsEmpty(database) {
                try? FileManager.default.removeItem(atPath: database)
                Self.removeEmptyDirectories(from: URL(fileURLWithPath: database).deletingLastPathComponent().path, upTo: home)
                kept = Record.Database()
            }
            record.databases[database] = kept == Record.Database() ? nil : kept
            report.databases.append(database)
        }
        if remaining.isEmpty, report.busy.isEmpty, let file = record.p11kitFile {
            try? FileManager.default.removeItem(atPath: file)
            Self.removeEmptyDirectories(from: URL(fileURLWithPath: file).deletingLastPathComponent().path, upTo: home)
            record.p11kitFile = nil
            report.p11kitFile = file
        }
        try writeRecord(record)
        if remaining.isEmpty { Self.removeEmptyDirectories(from: tokenDirectory, upTo: home) }
        return report
    }

    /// After a profile's certificate was renewed: its token shows the new certificate, read from the certificate file
    /// the renewal wrote beside the profile (the certificate, then the chain).
    ///
    /// Nothing else changes.
    public func refresh(profile: URL, certificateFile: URL) throws {
        let path = profile.standardizedFileURL.path
        guard let text = try? String(contentsOf: certificateFile, encoding: .utf8),
            let documents = try? PEMDocument.parseMultiple(pemString: text), !documents.isEmpty
        else { throw WorkstationError(.provider, "cannot read \(certificateFile.path)") }
        for var token in ProviderToken.loadAll(from: tokenDirectory) where token.profile == path {
            token.certificates = documents.map(\.derBytes)
            try AtomicFile.write(
                Array(try token.encoded().utf8), to: URL(fileURLWithPath: tokenDirectory).appendingPathComponent(token.fileName), mode: 0o644)
        }
    }

    /// Whether `profile` has a token.
    public func isInstalled(profile: URL) -> Bool {
        ProviderToken.loadAll(from: tokenDirectory).contains { $0.profile == profile.standardizedFileURL.path }
    }

    // MARK: NSS

    /// The user's NSS databases: the shared one and the Firefox and Thunderbird profiles (those with a `cert9.db`).
    func nssDatabases() -> [String] {
        var found: [String] = []
        let shared = home + "/.pki/nssdb"
        if FileManager.default.fileExists(atPath: shared + "/cert9.db") { found.append(shared) }
        for parent in [".mozilla/firefox", "snap/firefox/common/.mozilla/firefox", ".thunderbird", "snap/thunderbird/common/.thunderbird"] {
            let directory = home + "/" + parent
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
                let profile = directory + "/" + name
                if FileManager.default.fileExists(atPath: profile + "/cert9.db") { found.append(profile) }
            }
        }
        return found
    }

    func moduleListed(in database: String) throws -> Bool {
        let listing = try nss("modutil", ["-dbdir", "sql:" + database, "-list"])
        return listing.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasSuffix(". \(Self.moduleName)") }
    }

    func certificateDER(named nickname: String, in database: String) throws -> [UInt8]? {
        guard let text = try? nss("certutil", ["-L", "-d", "sql:" + database, "-n", nickname, "-a"]),
            let document = try? PEMDocument(pemString: text)
        else { return nil }
        return document.derBytes
    }

    func databaseIsEmpty(_ database: String) throws -> Bool {
        let certificates = try nss("certutil", ["-L", "-d", "sql:" + database]).split(separator: "\n").dropFirst(3)
        let listed = try moduleListed(in: database)
        return certificates.allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty } && !listed
    }

    /// Runs an NSS tool (no secret in its arguments: the databases Paraphe touches have no password, or the tool asks
    /// for it on the terminal).
    ///
    /// Returns its output; throws with its message on failure.
    @discardableResult
    func nss(_ tool: String, _ arguments: [String], creating directory: String? = nil) throws -> String {
        if let directory {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let child: ChildProcess.Outcome
        do {
            child = try ChildProcess.run(toolDirectory + "/" + tool, arguments, errors: .mergeWithOutput)
        } catch {
            throw WorkstationError(.provider, "\(tool) is not installed (Debian: apt install libnss3-tools)")
        }
        let text = String(decoding: child.output, as: UTF8.self)
        guard child.status == 0 else {
            let first = text.split(separator: "\n").first.map(String.init) ?? "status \(child.status)"
            throw WorkstationError(.provider, "\(tool): \(InputText.printable(first))")
        }
        return text
    }

    /// Adds the CA, trusted to issue email and document-signing certificates only (`,C,C`: not for TLS).
    private func addAuthority(_ certificate: Certificate, nickname: String, to database: String) throws {
        let path = NSTemporaryDirectory() + "/paraphe-ca-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).pem"
        try AtomicFile.write(Array(try CertificateFile.pem(certificate: certificate, chain: []).utf8), to: URL(fileURLWithPath: path), mode: 0o644)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try nss("certutil", ["-A", "-d", "sql:" + database, "-n", nickname, "-t", ",C,C", "-a", "-i", path])
    }

    // MARK: Helpers

    static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    /// The CA's nickname in NSS: its common name, marked as Paraphe's.
    static func nickname(of certificate: Certificate) -> String {
        InputText.printable(commonName(of: certificate, otherwise: "Paraphe CA")) + " (Paraphe)"
    }

    /// The subject's common name (the label the module gives a certificate), or `otherwise`.
    static func commonName(of certificate: Certificate, otherwise: String) -> String {
        var name = otherwise
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let value = String(attribute.value) { name = value }
            }
        }
        return name
    }

    static func removeEmptyDirectories(from directory: String, upTo limit: String) {
        var current = URL(fileURLWithPath: directory).standardizedFileURL.path
        while current.hasPrefix(limit + "/"), (try? FileManager.default.contentsOfDirectory(atPath: current))?.isEmpty == true {
            try? FileManager.default.removeItem(atPath: current)
            current = URL(fileURLWithPath: current).deletingLastPathComponent().path
        }
    }
}

/// Which program has an NSS database open: a database in use is never edited (its application would keep its own
/// copy of the module list and trust, and could overwrite the change).
enum DatabaseUse {
    /// For each database in use, the name of a process with one of its files open, or of the Firefox/Thunderbird
    /// whose profile lock names a live process.
    ///
    /// One pass over the processes serves every database.
    static func programs(using databases: [String]) -> [String: String] {
        var found: [String: String] = [:]
        var owners: [String: String] = [:]  // an NSS file → the database it belongs to
        for database in databases {
            // Firefox and Thunderbird: `lock` is a symbolic link to "ADDRESS:+PID" while the profile is open.
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: database + "/lock"),
                let pidText = target.split(separator: "+").last, let pid = Int32(pidText), pid > 0, kill(pid, 0) == 0 || errno == EPERM
            {
                found[database] = processName(pid) ?? "pid \(pid)"
            } else {
                for file in ["cert9.db", "key4.db", "pkcs11.txt"] { owners[database + "/" + file] = database }
            }
        }
        guard !owners.isEmpty else { return found }
        let own = getpid()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != own else { continue }
            let descriptors = "/proc/\(entry)/fd"
            for descriptor in (try? FileManager.default.contentsOfDirectory(atPath: descriptors)) ?? [] {
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: descriptors + "/" + descriptor),
                    let database = owners[target], found[database] == nil
                else { continue }
                found[database] = processName(pid) ?? "pid \(pid)"
            }
        }
        return found
    }

    static func processName(_ pid: Int32) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/comm") else { return nil }
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return name.isEmpty ? nil : InputText.printable(name)
    }
}
