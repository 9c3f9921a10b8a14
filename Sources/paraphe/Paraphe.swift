import ArgumentParser
import Foundation
import Logging

@main
struct Paraphe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paraphe",
        abstract: "Activate your digital signature: from the approval email to a signing key protected by your password.",
        discussion: """
            Exit statuses: 0 done, 64 usage, 65 bad input data, 66 file not found, 69 component unavailable, \
            73 cannot create a file, 74 I/O error, 75 codes renewed (run again with the new reference number), \
            77 refused (locked, expired, wrong answers or codes, wrong password).
            """,
        version: "1.0.0",
        subcommands: [
            WizardCommand.self, DemoCommand.self, AuthorityCommand.self, ActivateCommand.self, ProfileCommand.self,
            ComponentsCommand.self,
        ],
        defaultSubcommand: WizardCommand.self
    )

    static func main() async {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            let level = ProcessInfo.processInfo.environment["PARAPHE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            handler.logLevel = level ?? .warning
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
