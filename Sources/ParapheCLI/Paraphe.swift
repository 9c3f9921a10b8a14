import Activation
import ArgumentParser
import Foundation
import Logging
import Synchronization
import Workstation

/// What the program is started with besides its arguments: the clock, and an observer of an
/// activation's named moments. `paraphe` starts with the system clock and no observer; the test
/// binary injects a fixed clock and crash points.
public struct ParapheHooks: Sendable {
    public var clock: any TimeSource
    public var checkpoint: @Sendable (ActivationCheckpoint) -> Void

    public init(clock: any TimeSource = SystemTimeSource(), checkpoint: @escaping @Sendable (ActivationCheckpoint) -> Void = { _ in }) {
        self.clock = clock
        self.checkpoint = checkpoint
    }

    private static let installed = Mutex(ParapheHooks())

    /// The hooks this run was started with.
    static var current: ParapheHooks { installed.withLock { $0 } }

    fileprivate static func install(_ hooks: ParapheHooks) { installed.withLock { $0 = hooks } }
}

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

    /// Runs the command line with `hooks`.
    static func main(hooks: ParapheHooks) async {
        ParapheHooks.install(hooks)
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

/// The entry point of `paraphe` (and of the test binary, with its hooks).
public enum ParapheMain {
    public static func run(hooks: ParapheHooks = ParapheHooks()) async {
        await Paraphe.main(hooks: hooks)
    }
}
