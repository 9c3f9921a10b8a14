import Activation
import AuthorityInterface
import Foundation
import Keystore
import OperatorCommands
import PasswordQuality
import Synchronization
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

/// The workstation's activation pipeline on `authority`, with this run's hooks.
func activationService(authority: any Authority, paths: WorkstationPaths, fixedProfileDirectory: Bool = false) -> ActivationService {
    let clock = OperatorCommands.clock()
    return ActivationService(
        authority: authority, paths: paths, cost: kdfCost(), passwordPolicy: PasswordPolicy(checker: PWQualityChecker()),
        fixedProfileDirectory: fixedProfileDirectory, checkpoint: ParapheHooks.current.checkpoint,
        updateWindow: UpdateWindow.current, now: { clock.now() }, provider: .thisProgram
    )
}

/// How long before expiry a log-in offers to update the profile: `[profile] update_window_days` of the
/// configuration file (60 by default), set once when the configuration is read.
enum UpdateWindow {
    private static let seconds = Mutex<TimeInterval>(60 * 86_400)
    static var current: TimeInterval { seconds.withLock { $0 } }
    static func set(days: Int) { seconds.withLock { $0 = TimeInterval(days) * 86_400 } }
}
