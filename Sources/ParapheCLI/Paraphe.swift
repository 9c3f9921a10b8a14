import Activation
import ArgumentParser
import Foundation
import Logging
import OperatorCommands
import Workstation

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
            WizardCommand.self, DemoCommand.self, AuthorityCommand.self, ActivateCommand.self, RecoverCommand.self, ProfileCommand.self,
            ComponentsCommand.self, ProviderSelfTestCommand.self,
        ],
        defaultSubcommand: WizardCommand.self
    )

}

/// The entry point of `paraphe` (and of the test binary, with its hooks).
public enum ParapheMain {
    public static func run(hooks: ParapheHooks = ParapheHooks()) async {
        await runCommandLine(Paraphe.self, program: ProgramContext(name: "paraphe", hooks: hooks), logLevel: .warning)
    }
}
