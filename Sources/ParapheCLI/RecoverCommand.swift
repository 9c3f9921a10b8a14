import Activation
import ArgumentParser
import Foundation
import OperatorCommands
import Workstation

/// "Recover my digital signature" without the screens.
struct RecoverCommand: WorkstationCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Recover a lost profile or a forgotten password: the authority emails a recovery link and a new reference number.",
        discussion: """
            The answer is the same whether or not an activated application has this address (at most 3 recovery emails \
            in 24 hours). Then finish as for a first activation: paraphe activate --link LINK --reference NEW_NUMBER … \
            (or the wizard). The previous certificate is revoked once the new profile is written and logged in to.
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var authorityOptions: AuthorityOptions
    @Option(help: "The email address of the activated application.") var email: String
    @Option(help: "Language of the messages: en or fr.") var lang: Language?

    func run(in program: ProgramContext) async throws {
        try await withWorkstation(program) { setup, data, language in
            let address = try InputText.validate(email, field: .email)
            try await setup.vouchedAuthority(data, language: language).requestRecovery(email: address)
            print(Localizer(language).text("recovery.sent"))
        }
    }
}
