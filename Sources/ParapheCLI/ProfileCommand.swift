import Activation
import ArgumentParser
import Foundation
import Keystore
import OperatorCommands
import ParapheShared
import RevocationList
import Terminal
import Workstation

struct ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Work with an activated profile.",
        subcommands: [Verify.self, ChangePassword.self, Update.self, Revoke.self, Install.self, Uninstall.self]
    )

    struct Verify: WorkstationCommand {
        static let configuration = CommandConfiguration(
            abstract: "Log in to a profile: decrypt it, check the key matches the certificate and the chain verifies.",
            discussion: "The chain is checked against the CA in the data directory's trust store (see `paraphe components install`)."
        )

        @OptionGroup var data: DataOptions
        @OptionGroup var authorityOptions: AuthorityOptions
        @Argument(help: "The profile file (NAME.p12).") var file: String
        @Option(name: .customLong("password-file"), help: "A file whose first line is the password; - reads stdin.")
        var passwordFile: String
        @Option(help: "Language of the messages: en or fr.") var lang: Language?

        func run(in program: ProgramContext) async throws {
            try await withWorkstation(program) { setup, data, language in
                let password = try readPassword(passwordFile, language: language)
                let url = try ProfileCommand.readableProfile(file, language: language)
                let paths = WorkstationPaths(dataDirectory: data.dataDirectory)
                let service = setup.activationService(
                    authority: try await setup.vouchedAuthority(data, language: language, existing: true), paths: paths)
                var summary = try await service.logIn(profile: url, password: password)
                summary.certificateFile = nil
                print(summaryText(summary, language: language))
            }
        }
    }
}

extension ProfileCommand {
    struct ChangePassword: WorkstationCommand {
        static let configuration = CommandConfiguration(
            commandName: "password",
            abstract: "Change a profile's password (same rules and cost as at activation; the file is replaced atomically).",
            discussion: """
                Without --password-file and --new-password-file, the passwords are asked on the terminal with echo off \
                (the new one twice). Exits 0 when the profile opens with the new password only; 77 for a wrong \
                current password; 65 for a new password the policy refuses (nothing is changed then).
                """
        )

        @OptionGroup var data: DataOptions
        @OptionGroup var authorityOptions: AuthorityOptions
        @Argument(help: "The profile file (NAME.p12).") var file: String
        @Option(name: .customLong("password-file"), help: "A file whose first line is the current password; - reads stdin.")
        var passwordFile: String?
        @Option(name: .customLong("new-password-file"), help: "A file whose first line is the new password.")
        var newPasswordFile: String?
        @Option(help: "Language of the messages: en or fr.") var lang: Language?

        func validate() throws {
            guard (passwordFile == nil) == (newPasswordFile == nil) else {
                throw ValidationError("Give both --password-file and --new-password-file, or neither (then the passwords are asked).")
            }
            guard passwordFile != "-" || newPasswordFile != "-" else { throw ValidationError("Only one of the passwords can come from stdin.") }
        }

        func run(in program: ProgramContext) async throws {
            try await withWorkstation(program) { setup, data, language in
                let text = Localizer(language)
                let url = try ProfileCommand.readableProfile(file, language: language)
                let current: Password
                let new: Password
                let confirmation: Password
                if let passwordFile, let newPasswordFile {
                    current = try readPassword(passwordFile, language: language)
                    new = try readPassword(newPasswordFile, language: language)
                    confirmation = new
                } else {
                    (current, new, confirmation) = try LineConsole.withConsole { console in
                        func ask(_ key: String) throws -> Password {
                            console.write(text.text(key))
                            let line = try console.readLine(secret: true)
                            return Password(try InputText.validate(InputText.decode(line, field: .password), field: .password))
                        }
                        return (try ask("cli.password.current"), try ask("cli.password.new"), try ask("cli.password.confirm"))
                    }
                }
                let paths = WorkstationPaths(dataDirectory: data.dataDirectory)
                let service = setup.activationService(authority: try setup.existingAuthority(data, language: language), paths: paths)
                _ = try await service.changePassword(profile: url, current: current, new: new, confirmation: confirmation)
                note(text.text("cli.password.changed", ["path": url.path]))
            }
        }
    }
}

extension ProfileCommand {
    /// Options of the commands that open a profile and then ask the authority something.
    struct ProfileAccess: ParsableArguments {
        @OptionGroup var data: DataOptions
        @OptionGroup var authorityOptions: AuthorityOptions
        @Argument(help: "The profile file (NAME.p12).") var file: String
        @Option(name: .customLong("password-file"), help: "A file whose first line is the profile's password; - reads stdin.")
        var passwordFile: String
        @Option(help: "Language of the messages: en or fr.") var lang: Language?

        /// The pipeline on this workstation's authority, the profile and its password.
        func open(_ program: ProgramContext) async throws -> (ActivationService, URL, Password, Language) {
            let language = defaultLanguage(lang)
            var data = self.data
            let setup = try WorkstationSetup.resolve(authorityOptions, data: &data, language: language, program: program)
            let url = try ProfileCommand.readableProfile(file, language: language)
            let password = try readPassword(passwordFile, language: language)
            let service = setup.activationService(
                authority: try await setup.vouchedAuthority(data, language: language, existing: true),
                paths: WorkstationPaths(dataDirectory: data.dataDirectory))
            return (service, url, password, language)
        }
    }

    struct Update: ProgramCommand {
        static let configuration = CommandConfiguration(
            abstract: "Renew a profile's certificate with a new key before it expires (CMP kur, signed with the current key).",
            discussion: "The profile is rewritten atomically under the same password; the previous file is kept beside it as NAME.YYYY-MM-DD.p12."
        )
        @OptionGroup var access: ProfileAccess

        func run(in program: ProgramContext) async throws {
            try await runReportingErrors(language: defaultLanguage(access.lang), program: program) {
                let (service, url, password, language) = try await access.open(program)
                let (summary, backup) = try await service.updateProfile(profile: url, password: password)
                print(summaryText(summary, language: language))
                note(Localizer(language).text("cli.profile.updated", ["backup": backup.path]))
                // A profile made available to the applications shows them its new certificate.
                if let registration = try? ProviderRegistration.forCurrentUser(), registration.isInstalled(profile: url) {
                    try registration.refresh(profile: url, certificateFile: ActivationService.certificateFile(of: url))
                }
            }
        }
    }

    struct Revoke: ProgramCommand {
        static let configuration = CommandConfiguration(
            abstract: "Have the profile's certificate revoked (CMP rr, signed with its key); the authority publishes a new CRL.",
            discussion:
                "Reasons (RFC 5280): \(RevocationReason.allCases.map(\.name).joined(separator: ", ")). A revoked certificate can no longer be used to sign."
        )
        @OptionGroup var access: ProfileAccess
        @Option(help: "The reason (RFC 5280 CRLReason name).") var reason: String = "unspecified"

        func validate() throws {
            guard RevocationReason(name: reason) != nil else {
                throw ValidationError("--reason must be one of: \(RevocationReason.allCases.map(\.name).joined(separator: ", ")).")
            }
        }

        func run(in program: ProgramContext) async throws {
            try await runReportingErrors(language: defaultLanguage(access.lang), program: program) {
                let (service, url, password, language) = try await access.open(program)
                let code = (RevocationReason(name: reason) ?? .unspecified).rawValue
                try await service.revokeProfile(profile: url, password: password, reasonCode: code)
                note(Localizer(language).text("cli.profile.revoked", ["path": url.path]))
            }
        }
    }
}

extension ProfileCommand {
    struct Install: WorkstationCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a profile available to this workstation's applications (PKCS#11: NSS, GnuTLS, OpenSSL, p11-kit).",
            discussion: """
                Logs in to the profile (the password is asked on the terminal, or read with --password-file; it is not \
                kept), then registers Paraphe's keystore provider for you: a token for the profile, the module with \
                p11-kit (~/.config/pkcs11/modules), and in your NSS databases (~/.pki/nssdb, created if missing, and \
                the Firefox and Thunderbird profiles), with the authority's CA trusted for email and documents only. \
                A database an application has open is left alone: close it and run the command again (exit 75). \
                `paraphe profile uninstall` undoes exactly what this did.
                """
        )
        @OptionGroup var data: DataOptions
        @OptionGroup var authorityOptions: AuthorityOptions
        @Argument(help: "The profile file (NAME.p12).") var file: String
        @Option(name: .customLong("password-file"), help: "A file whose first line is the profile's password; - reads stdin.")
        var passwordFile: String?
        @Option(help: "Language of the messages: en or fr.") var lang: Language?

        func run(in program: ProgramContext) async throws {
            try await withWorkstation(program) { setup, data, language in
                let text = Localizer(language)
                let url = try ProfileCommand.readableProfile(file, language: language).standardizedFileURL
                let password: Password
                if let passwordFile {
                    password = try readPassword(passwordFile, language: language)
                } else {
                    password = try LineConsole.withConsole { console in
                        console.write(text.text("cli.password.profile"))
                        return Password(
                            try InputText.validate(InputText.decode(try console.readLine(secret: true), field: .password), field: .password))
                    }
                }
                let registration = try ProviderRegistration.forCurrentUser()
                let service = setup.activationService(
                    authority: try await setup.vouchedAuthority(data, language: language, existing: true),
                    paths: WorkstationPaths(dataDirectory: data.dataDirectory))
                let report = try await service.installProvider(profile: url, password: password, registration: registration)
                print(providerReportText(report, module: registration.module, language: language))
                try ProfileCommand.refuseIfBusy(report)
            }
        }
    }

    struct Uninstall: ProgramCommand {
        static let configuration = CommandConfiguration(
            abstract: "Undo `paraphe profile install`: the profile's token; with the last one, the module and CA it registered.",
            discussion: "No password is needed. A database an application has open is left alone: close it and run the command again (exit 75)."
        )
        @Argument(help: "The profile file (NAME.p12).") var file: String
        @Option(help: "Language of the messages: en or fr.") var lang: Language?

        func run(in program: ProgramContext) async throws {
            let language = defaultLanguage(lang)
            try await runReportingErrors(language: language, program: program) {
                let text = Localizer(language)
                let url = URL(fileURLWithPath: file).standardizedFileURL
                let registration = try ProviderRegistration.forCurrentUser()
                guard registration.isInstalled(profile: url) else {
                    print(text.text("cli.provider.notInstalled", ["path": InputText.printable(url.path)]))
                    return
                }
                let report = try registration.uninstall(profile: url)
                print(text.text("cli.provider.uninstalled", ["label": report.label]))
                for (database, program) in report.busy.sorted(by: { $0.key < $1.key }) {
                    print(text.text("cli.provider.busy", ["path": database, "program": program]))
                }
                try ProfileCommand.refuseIfBusy(report)
            }
        }
    }

    /// The profile file named on the command line, if it can be read (else exit 66 with the file's name).
    static func readableProfile(_ file: String, language: Language) throws -> URL {
        let url = URL(fileURLWithPath: file)
        guard FileManager.default.isReadableFile(atPath: url.path) else {
            throw CLIError(status: ExitStatus.noInput, message: Localizer(language).text("cli.error.cannotRead", ["path": InputText.printable(file)]))
        }
        return url
    }

    /// Ends with `applicationRunning` (exit 75) when a database was left alone because an application has it open.
    static func refuseIfBusy(_ report: ProviderRegistration.Report) throws {
        guard let (database, program) = report.busy.sorted(by: { $0.key < $1.key }).first else { return }
        throw WorkstationError(.applicationRunning, "\(program) (\(database))")
    }
}

/// What `profile install` (and the wizard's log-in screen) tells the person: where the signature was registered and how
/// to sign with it.
func providerReportText(_ report: ProviderRegistration.Report, module: String, language: Language) -> String {
    let text = Localizer(language)
    var lines = [text.text("cli.provider.installed", ["label": report.label]), "  " + text.text("cli.provider.module", ["module": module])]
    if let file = report.p11kitFile {
        lines.append("  " + text.text(report.p11kitIgnoresRoot ? "cli.provider.p11kitRoot" : "cli.provider.p11kit", ["path": file]))
    }
    for database in report.databases { lines.append("  " + text.text("cli.provider.database", ["path": database])) }
    for (database, program) in report.busy.sorted(by: { $0.key < $1.key }) {
        lines.append("  " + text.text("cli.provider.busy", ["path": database, "program": program]))
    }
    if let database = report.databases.first {
        lines.append(text.text("cli.provider.howToSign", ["nickname": report.nickname, "database": database, "label": report.label]))
    }
    return lines.joined(separator: "\n")
}

struct ComponentsCommand: WorkstationCommand {
    static let configuration = CommandConfiguration(
        commandName: "components",
        abstract: "Check the local components activation needs (or install them with `components install`).",
        discussion: "Exits 0 when every component is installed, 69 otherwise."
    )

    enum Action: String, ExpressibleByArgument { case check, install }

    @OptionGroup var data: DataOptions
    @OptionGroup var authorityOptions: AuthorityOptions
    @Argument(help: "check (default) or install.") var action: Action = .check
    @Option(name: .customLong("profile-dir"), help: "The profile store to check (default: DATA_DIR/profiles).") var profileDir: String?
    @Option(help: "Language of the messages: en or fr.") var lang: Language?

    func run(in program: ProgramContext) async throws {
        try await withWorkstation(program) { setup, data, language in
            let profileDir = self.profileDir ?? setup.configuration.profileDirectory
            let paths = WorkstationPaths(dataDirectory: data.dataDirectory, profileDirectory: profileDir.map(URL.init(fileURLWithPath:)))
            let text = Localizer(language, commandOptions: paths.commandOptions)
            // Checking only reads: with no data directory yet, nothing is installed, and nothing is created.
            if action == .check, setup.endpoint == nil, !data.exists {
                print(text.text("cli.components.noDataDirectory", ["path": InputText.printable(data.dataDirectory.path, limit: 1_000)]))
                throw ExitCode(ExitStatus.unavailable)
            }
            let authority = try setup.authority(data)
            // Neither pinned nor installed: the fingerprint the service offers (only GET /api/v1/ca went out).
            let toConfirm = setup.endpoint != nil ? try await authority.caFingerprintToConfirm() : nil
            // Pinned or installed: the fingerprint is checked first (a mismatch is refused, 77).
            if setup.endpoint != nil, toConfirm == nil { _ = try await authority.caCertificateDER() }
            let components = Components(paths: paths, authority: authority, provider: .thisProgram)
            if action == .install {
                // Without a pinned fingerprint, the person compares the one shown and confirms it: this is the
                // command-line way to trust an authority (it installs its CA in the trust store).
                if let fingerprint = toConfirm {
                    print(text.text("component.reason.confirmFingerprint", ["detail": fingerprint]))
                    FileHandle.standardError.write(Data(text.text("cli.components.confirmPrompt").utf8))
                    guard let answer = readLine(), ["y", "yes", "o", "oui"].contains(answer.lowercased().trimmingCharacters(in: .whitespaces)) else {
                        throw CLIError(status: ExitStatus.refused, message: text.text("cli.components.notConfirmed"))
                    }
                    try await authority.trustAuthority(fingerprint: fingerprint)
                }
                try await components.installActivationManager()
            }
            try await report(components, language: language)
        }
    }

    /// One line per component; exits 69 unless every one is installed.
    private func report(_ components: Components, language: Language) async throws {
        let text = Localizer(language)
        do {
            var allInstalled = true
            for report in await components.check() {
                let line = ComponentLine(report, language: language)
                print(line.oneLine)
                if !line.isInstalled {
                    allInstalled = false
                    if report.installable { print(text.text("cli.component.installHint")) }
                }
            }
            if !allInstalled { throw ExitCode(ExitStatus.unavailable) }
        }
    }
}

/// The child side of the keystore provider's self-test (`ProviderSelfTest`): not for people.
struct ProviderSelfTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provider-self-test", abstract: "The keystore provider's self-test, child side.", shouldDisplay: false)
    @Option var module: String

    func run() throws {
        guard let password = readLine(strippingNewline: true) else { throw ExitCode(ExitStatus.noInput) }
        do {
            let signature = try ProviderSelfTest.signThroughModule(module, password: password)
            print(Hex.lowercase(signature))
        } catch {
            print(error.reason)
            throw ExitCode(ExitStatus.software)
        }
    }
}
