import Activation
import ArgumentParser
import Authority
import AuthorityInterface
import Foundation
import OperatorCommands
import ParapheShared
import Wizard
import Workstation

struct DemoCommand: ProgramCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Create a demo application in a fresh data directory, say how to finish it, and start the wizard.",
        discussion: "The answers and the reference number are shown on the screens of the demo, so nothing else is needed."
    )

    @Option(name: .customLong("data-dir"), help: "The data directory to create (default: a new directory under /tmp).") var dataDir: String?
    @Option(help: "Language of the demo application: en or fr.") var lang: Language?
    @Flag(help: "Approve the demo application 16 days ago, so its codes have expired (try the renewal step).") var expired = false
    @Flag(help: "Prepare the demo and print how to finish it, without starting the wizard.") var noWizard = false

    static let questions: [Language: [String]] = [
        .en: ["In what city were you born?", "What was the name of your first pet?", "What is your favourite book?"],
        .fr: ["Dans quelle ville êtes-vous né(e) ?", "Quel était le nom de votre premier animal ?", "Quel est votre livre préféré ?"],
    ]
    static let answers = ["Montréal", "Rex", "Les Misérables"]

    /// The demo authority's customer service (`customer-service.toml` in its data directory; fictitious numbers).
    static let customerServiceFile = """
        # The customer service this authority names in its emails, at GET /api/v1/about and in the wizard's
        # messages (docs/ca-operator.md). A demo: the numbers and addresses are fictitious.
        name = "Paraphe Customer Service (demo)"
        phone = "+1 514 555-0199"
        email = "support@paraphe.example"
        web = "https://paraphe.example/support"
        hours = "Monday to Friday, 8 a.m. to 6 p.m. Eastern Time"

        [fr]
        name = "Service à la clientèle de Paraphe (démo)"
        web = "https://paraphe.example/fr/soutien"
        hours = "Du lundi au vendredi, de 8 h à 18 h, heure de l’Est"

        """

    func run(in program: ProgramContext) async throws {
        let language = defaultLanguage(lang)
        try await runReportingErrors(language: language, program: program) {
            let text = Localizer(language)
            let directory: URL
            if let dataDir {
                directory = URL(fileURLWithPath: dataDir)
                if let existing = try? FileManager.default.contentsOfDirectory(atPath: directory.path), !existing.isEmpty {
                    throw CLIError(status: ExitStatus.cantCreate, message: text.text("demo.error.notFresh", ["path": InputText.printable(dataDir)]))
                }
            } else {
                let template = FileManager.default.temporaryDirectory.appendingPathComponent("paraphe-demo.XXXXXX").path
                var buffer = Array(template.utf8CString)
                guard let made = mkdtemp(&buffer) else {
                    throw CLIError(status: ExitStatus.cantCreate, message: text.text("demo.error.notFresh", ["path": template]))
                }
                directory = URL(fileURLWithPath: String(cString: made))
            }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let contactFile = directory.appendingPathComponent(DataOptions.customerServiceFile)
            try AtomicFile.write(Array(Self.customerServiceFile.utf8), to: contactFile, mode: 0o600)
            var options = DataOptions()
            options.dataDir = directory.path
            let authority = try EmbeddedAuthority(configuration: try options.configuration(program))
            let subscriber = Subscriber(name: "Jeanne Tremblay", email: "jeanne.tremblay@example.com", language: language)
            let approvedAt = expired ? program.hooks.clock.now().addingTimeInterval(-16 * 24 * 3600) : nil
            let receipt = try await authority.approve(
                ApprovalRequest(
                    subscriber: subscriber, questions: Self.questions[language] ?? [], answers: Self.answers.map(SecurityAnswer.init),
                    approvedAt: approvedAt
                ))
            let mail = directory.appendingPathComponent("mail/new").path
            print(
                text.text(
                    "demo.ready",
                    [
                        "dir": directory.path, "link": receipt.link, "answers": Self.answers.joined(separator: " / "),
                        "reference": receipt.reference.formatted, "mail": mail,
                    ]))
            if noWizard || !isatty(0).boolValue || !isatty(1).boolValue {
                print("\n" + text.text("demo.finishWith", ["dir": shellQuoted(directory.path), "link": receipt.link]))
                return
            }
            print("\n" + text.text("demo.starting"))
            let session = WizardSession(
                authority: PendingAuthority(authority), paths: WorkstationPaths(dataDirectory: directory), language: language,
                languageChosen: lang != nil, kiosk: false, link: receipt.link,
                demo: DemoHints(answers: Self.answers, reference: receipt.reference.formatted)
            )
            try await session.run(in: program)
            print(text.text("demo.after", ["dir": directory.path]))
        }
    }
}

extension Int32 {
    fileprivate var boolValue: Bool { self == 1 }
}
