import Activation
import ArgumentParser
import Authority
import AuthorityInterface
import Foundation
import OperatorCommands
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
            var configuration = AuthorityConfiguration(dataDirectory: directory)
            configuration.time = program.hooks.clock
            let authority = try EmbeddedAuthority(configuration: configuration)
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
