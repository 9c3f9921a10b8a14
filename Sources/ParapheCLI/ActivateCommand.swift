import Activation
import ArgumentParser
import AuthorityInterface
import Foundation
import Keystore
import OperatorCommands
import PasswordQuality
import Synchronization
import Workstation

struct ActivateCommand: ProgramCommand {
    static let configuration = CommandConfiguration(
        commandName: "activate",
        abstract: "Activate without the screens: identity check, components, renewal if expired, activation.",
        discussion: """
            Exits 0 when the profile is written and logged in to; 75 when the codes had expired and were \
            renewed (a new email went out: run again with its reference number); 77 when refused (wrong \
            answers, with the attempts left; locked; wrong or used codes); 65 for bad input.
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var authorityOptions: AuthorityOptions
    @Option(help: "The activation link from the approval email, or its token (visible to other local users: see --link-file).") var link: String?
    @Option(name: .customLong("link-file"), help: "A file whose first line is the activation link (keeps it out of the process arguments).")
    var linkFile: String?
    @Option(name: .customLong("answers-file"), help: "A file with the three answers, one a line, in the order of the questions.")
    var answersFile: String
    @Option(help: "The reference number from the newest email (spaces and dashes are ignored).") var reference: String
    @Option(name: .customLong("password-file"), help: "A file whose first line is the new profile password; - reads stdin.")
    var passwordFile: String
    @Option(help: "Key type: rsa2048 (default), rsa3072 or p256.") var key: KeyAlgorithm = .rsa2048
    @Option(name: .customLong("profile-dir"), help: "Where to write the profile (default: DATA_DIR/profiles).") var profileDir: String?
    @Option(help: "Language of the messages: en or fr (default: the application's).") var lang: Language?
    @Flag(help: "Then make the profile available to this workstation's applications, as `paraphe profile install` does.")
    var install = false

    func validate() throws {
        guard (link == nil) != (linkFile == nil) else { throw ValidationError("Give the activation link with --link or --link-file (one of them).") }
        if linkFile == "-" { throw ValidationError("--link-file takes a file (standard input is --password-file's).") }
    }

    func run(in program: ProgramContext) async throws {
        var language = defaultLanguage(lang)
        try await runReportingErrors(language: language, program: program) {
            var data = self.data
            let setup = try WorkstationSetup.resolve(authorityOptions, data: &data, language: language, program: program)
            let profileDir = self.profileDir ?? setup.configuration.profileDirectory
            // Everything local is checked before the authority is asked anything.
            // Arguments are data: a control character anywhere (even one the parser would skip) is refused.
            let linkText = try link ?? lines(readTextFile(linkFile ?? "", field: .link, language: language)).first ?? ""
            let token = try ApplicationToken(parsing: InputText.validate(linkText, field: .link))
            let referenceNumber = try ReferenceNumber(parsing: InputText.validate(reference, field: .reference))
            let answers = try readAnswers(answersFile, language: language)
            let password = try readPassword(passwordFile, language: language)

            let authority = try await setup.vouchedAuthority(data, language: language)
            let paths = WorkstationPaths(dataDirectory: data.dataDirectory, profileDirectory: profileDir.map(URL.init(fileURLWithPath:)))
            let service = setup.activationService(authority: authority, paths: paths)
            // The password rules that need no subscriber, before anything is spent at the authority.
            try service.checkPasswordLocally(password, confirmation: password)

            let lookup = try await service.lookUp(token)
            if lang == nil { language = lookup.overview.language }
            let text = Localizer(language)
            let path: ActivationPath
            do throws(ActivationError) {
                path = try lookup.path
            } catch {
                throw LocalizedFailure(error: error, language: language)
            }
            switch path {
            case .finishParked:
                // An activation interrupted after the authority consumed the codes resumes with its parked key.
                note(text.text("cli.resuming"))
                for line in try await prepareComponents(service, text: text) { note(line) }
                let files = try await service.finishParked(token: token, password: password) { phase in note(text.text(phase.messageKey)) }
                try await logIn(service, files.profile, password: password, language: language)
                return
            case .logIn(let profile):
                // Already activated here (a rerun after a completed activation): log in to that profile.
                note(text.text("cli.alreadyActivatedHere"))
                try await logIn(service, profile, password: password, language: language)
                return
            case .steps:
                break
            }

            // Step 2: identity (the key for step 5 is generated, and the profile's keys derived, meanwhile). Step 3's
            // checks are local: they run meanwhile too (the keystore's self-test is a child process of its own), and
            // are said in their turn.
            let components = Task { try await prepareComponents(service, text: text) }
            let identity: IdentityVerification
            do {
                identity = try await service.verifyIdentity(token: token, answers: answers, pregenerate: key, password: password)
            } catch let error as ActivationError {
                components.cancel()
                throw LocalizedFailure(error: error, language: language)
            } catch {
                components.cancel()
                throw error
            }
            note(text.text("cli.identityConfirmed"))

            // Step 3: components.
            for line in try await components.value { note(line) }

            // Step 4: renewal when the codes can no longer be used.
            if identity.renewalNeeded {
                let receipt = try await service.renewCodes(token: token, authorization: identity.authorization)
                if let reason = identity.renewalReason { note(reason.message(in: language)) }
                printError("paraphe: " + text.text("cli.renewed", ["email": receipt.maskedEmail, "date": text.dateTime(receipt.expiresAt)]))
                throw ExitCode(ExitStatus.tempFail)
            }

            // Step 5: activation, then logging in to the profile.
            let request = ActivationRequest(
                token: token, subscriber: identity.subscriber, reference: referenceNumber,
                authorization: identity.authorization, password: password, keyAlgorithm: key
            )
            let files: ProfileFiles
            do {
                files = try await service.activate(request) { phase in note(text.text(phase.messageKey)) }
            } catch let error as ActivationError {
                throw LocalizedFailure(error: error, language: language)
            }
            try await logIn(service, files.profile, password: password, language: language)
        }
    }

    private func logIn(_ service: ActivationService, _ profile: URL, password: Password, language: Language) async throws {
        note(Localizer(language).text(ActivationProgress.loggingIn.messageKey))
        let summary = try await service.logIn(profile: profile, password: password)
        print(summaryText(summary, language: language))
        guard install else { return }
        let registration = try ProviderRegistration.forCurrentUser()
        let report = try await service.installProvider(profile: profile, password: password, registration: registration)
        print(providerReportText(report, module: registration.module, language: language))
        try ProfileCommand.refuseIfBusy(report)
    }
}

/// Step 3 without screens: checks the components and installs the activation manager if it is missing; what it found,
/// one line a component, for the caller to say when its turn comes.
func prepareComponents(_ service: ActivationService, text: Localizer) async throws -> [String] {
    let lines = Mutex<[String]>([])
    do {
        try await service.prepareComponents { report, installedNow in
            guard case .installed(let version) = report.status else { return }
            let line = text.text(
                installedNow ? "cli.component.installedNow" : "cli.component.installed", ["name": text.text(report.kind.nameKey), "version": version])
            lines.withLock { $0.append(line) }
        }
        return lines.withLock { $0 }
    } catch let error as WorkstationError where error.code == .componentFailed {
        let name = ComponentKind(rawValue: error.detail).map { text.text($0.nameKey) } ?? error.detail
        throw WorkstationError(.componentFailed, name, suggesting: error.commandOptions)
    }
}

/// The summary shown at the end of an activation and by `profile verify`.
func summaryText(_ summary: ActivationSummary, language: Language) -> String {
    ([Localizer(language).text("summary.title")] + SummaryFormat.lines(summary, language: language).map { "  " + $0 }).joined(separator: "\n")
}
