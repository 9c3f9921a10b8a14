import Activation
import AuthorityInterface
import Foundation
import Keystore
import OperatorCommands
import PasswordQuality
import Workstation

/// The PKCS#12 cost: 600,000 PBKDF2 iterations unless `PARAPHE_KDF_ITERATIONS` asks for more.
func kdfCost() -> KDFCost {
    if let text = ProcessInfo.processInfo.environment["PARAPHE_KDF_ITERATIONS"], let value = Int(text),
        value >= KDFCost.standard.iterations
    {
        return KDFCost(iterations: value)
    }
    return .standard
}

/// The workstation's activation pipeline on `authority`, with the program's hooks (clock, observer) and how long
/// before expiry a log-in offers to update the profile (`[profile] update_window_days`, 60 days by default).
func activationService(
    authority: any Authority, paths: WorkstationPaths, fixedProfileDirectory: Bool = false, program: ProgramContext,
    updateWindow: TimeInterval = WorkstationSetup.defaultUpdateWindow, localCustomerService: CustomerService? = nil
) -> ActivationService {
    let clock = program.hooks.clock
    return ActivationService(
        authority: authority, paths: paths, cost: kdfCost(), passwordPolicy: PasswordPolicy(checker: PWQualityChecker()),
        fixedProfileDirectory: fixedProfileDirectory, checkpoint: program.hooks.checkpoint, updateWindow: updateWindow, now: { clock.now() },
        provider: .thisProgram, localCustomerService: localCustomerService
    )
}

/// A command that works on this workstation: its data directory, the authority it names and the language of its
/// messages.
protocol WorkstationCommand: ProgramCommand {
    var data: DataOptions { get }
    var authorityOptions: AuthorityOptions { get }
    var lang: Language? { get }
}

extension WorkstationCommand {
    /// Runs `body` with the workstation's setup, the data options as resolved (the configuration file may name the
    /// data directory) and the language; an error ends the command with the person's message and its exit status.
    func withWorkstation(_ program: ProgramContext, _ body: (WorkstationSetup, DataOptions, Language) async throws -> Void) async throws {
        let language = defaultLanguage(lang)
        var resolved: (setup: WorkstationSetup, data: DataOptions)?
        try await runReportingErrors(
            language: language, program: program, customerService: { resolved.flatMap { $0.setup.knownCustomerService($0.data) } }
        ) {
            var data = self.data
            let setup = try WorkstationSetup.resolve(authorityOptions, data: &data, language: language, program: program)
            resolved = (setup, data)
            try await body(setup, data, language)
        }
    }
}
