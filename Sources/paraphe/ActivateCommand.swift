import Activation
import ArgumentParser
import Authority
import Foundation
import Keystore
import PasswordQuality
import Workstation

struct ActivateCommand: AsyncParsableCommand {
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
    @Option(help: "The activation link from the approval email, or its token.") var link: String
    @Option(name: .customLong("answers-file"), help: "A file with the three answers, one a line, in the order of the questions.")
    var answersFile: String
    @Option(help: "The reference number from the newest email (spaces and dashes are ignored).") var reference: String
    @Option(name: .customLong("password-file"), help: "A file whose first line is the new profile password; - reads stdin.")
    var passwordFile: String
    @Option(help: "Key type: rsa2048 (default), rsa3072 or p256.") var key: KeyAlgorithm = .rsa2048
    @Option(name: .customLong("profile-dir"), help: "Where to write the profile (default: DATA_DIR/profiles).") var profileDir: String?
    @Option(help: "Language of the messages: en or fr (default: the application's).") var lang: Language?

    func run() async throws {
        var language = defaultLanguage(lang)
        try await runReportingErrors(language: language) {
            // Everything local is checked before the authority is asked anything.
            let token = try ApplicationToken(parsing: link)
            let referenceNumber = try ReferenceNumber(parsing: reference)
            let answers = try readAnswers(answersFile, language: language)
            let password = try readPassword(passwordFile, language: language)

            let authority = try data.authority()
            let overview = try await authority.overview(of: token)
            if lang == nil { language = overview.language }
            let text = Localizer(language)
            let paths = WorkstationPaths(dataDirectory: data.dataDirectory, profileDirectory: profileDir.map(URL.init(fileURLWithPath:)))
            let activator = Activator(paths: paths, authority: authority, cost: kdfCost())

            // An activation interrupted after the authority consumed the codes resumes with its parked key.
            if overview.status == .activated, let parked = activator.parkedRequest(for: token, password: password) {
                note(text.text("cli.resuming"))
                try await prepareComponents(Components(paths: paths, authority: authority), text: text)
                let result = try await activator.activate(parked) { phase in note(text.text(phase.messageKey)) }
                print(summaryText(result, language: language))
                return
            }
            // Already activated here (a rerun after a completed activation): log in to that profile.
            if overview.status == .activated, let profile = activator.completedProfile(for: token) {
                note(text.text("cli.alreadyActivatedHere"))
                let summary = try await activator.login(profile: profile, password: password)
                let certificate = profile.deletingPathExtension().appendingPathExtension("pem")
                print(summaryText(summary, profile: profile, certificate: certificate, language: language))
                return
            }
            do {
                try overview.status.ensureActivatable()
            } catch let error as ActivationError {
                throw LocalizedFailure(error: error, language: language)
            }

            // Step 2: identity. Meanwhile the key is generated and the password derived for parking it
            // (both slow, both independent of the answers): the two cores share the work.
            let algorithm = key
            let preparing = Task { try activator.prepareKey(token: token, password: password, algorithm: algorithm) }
            let identity: IdentityVerification
            do {
                identity = try await authority.verifyIdentity(token: token, answers: answers)
            } catch let error as ActivationError {
                preparing.cancel()
                throw LocalizedFailure(error: error, language: language)
            }
            note(text.text("cli.identityConfirmed"))

            // Step 3: components.
            try await prepareComponents(Components(paths: paths, authority: authority), text: text)

            // Step 4: renewal when the codes can no longer be used.
            if identity.renewalNeeded {
                let receipt = try await authority.renewCodes(token: token, authorization: identity.authorization)
                if let reason = identity.renewalReason { note(reason.message(in: language)) }
                printError("paraphe: " + text.text("cli.renewed", ["email": receipt.maskedEmail, "date": text.dateTime(receipt.expiresAt)]))
                throw ExitCode(Exit.tempFail)
            }

            // Step 5: password policy, then activation and login.
            let policy = PasswordPolicy(checker: PWQualityChecker())
            try policy.validate(password, confirmation: password, name: identity.subscriber.name, email: identity.subscriber.email)
            let request = ActivationRequest(
                token: token, subscriber: identity.subscriber, reference: referenceNumber,
                authorization: identity.authorization, password: password, keyAlgorithm: key
            )
            let result: ActivationResult
            do {
                let prepared = try? await preparing.value
                result = try await activator.activate(request, prepared: prepared) { phase in note(text.text(phase.messageKey)) }
            } catch let error as ActivationError {
                throw LocalizedFailure(error: error, language: language)
            }
            print(summaryText(result, language: language))
        }
    }
}

/// Step 3 without screens: checks the components and installs the activation manager if it is missing.
func prepareComponents(_ components: Components, text: Localizer) async throws {
    for report in await components.check() {
        switch report.status {
        case .installed(let version):
            note(text.text("cli.component.installed", ["name": text.text(report.kind.nameKey), "version": version]))
        case .missing, .failed:
            guard report.installable else {
                throw WorkstationError(.componentFailed, text.text(report.kind.nameKey))
            }
            try await components.installActivationManager()
            let recheck = await components.checkActivationManager()
            guard case .installed(let version) = recheck.status else {
                throw WorkstationError(.componentFailed, text.text(report.kind.nameKey))
            }
            note(text.text("cli.component.installedNow", ["name": text.text(report.kind.nameKey), "version": version]))
        }
    }
}

/// An activation error to be reported in the application's language rather than the default one.
struct LocalizedFailure: Error {
    let error: ActivationError
    let language: Language
}

/// The summary shown at the end of an activation and by `profile verify`.
func summaryText(_ result: ActivationResult, language: Language) -> String {
    summaryText(result.summary, profile: result.profileFile, certificate: result.certificateFile, language: language)
}

func summaryText(_ summary: ProfileSummary, profile: URL?, certificate: URL?, language: Language) -> String {
    let text = Localizer(language)
    var lines = [
        text.text("summary.title"),
        "  " + text.text("summary.subject") + "  " + InputText.printable(summary.subject, limit: 200),
    ]
    if let email = summary.email { lines.append("  " + text.text("summary.email") + "  " + InputText.printable(email, limit: 254)) }
    lines += [
        "  " + text.text("summary.serial") + "  " + summary.serialHex,
        "  " + text.text("summary.fingerprint") + "  " + summary.sha256Fingerprint,
        "  " + text.text("summary.validity") + "  " + text.dateTime(summary.notBefore) + " → " + text.dateTime(summary.notAfter),
        "  " + text.text("summary.issuer") + "  " + InputText.printable(summary.issuer, limit: 200),
        "  " + text.text("summary.key") + "  " + text.text("key.\(summary.keyAlgorithm.rawValue)"),
    ]
    if let profile { lines.append("  " + text.text("summary.profile") + "  " + profile.path) }
    if let certificate { lines.append("  " + text.text("summary.certificate") + "  " + certificate.path) }
    return lines.joined(separator: "\n")
}
