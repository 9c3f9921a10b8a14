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

/// The workstation's activation pipeline on `authority`, with this run's hooks.
func activationService(authority: any Authority, paths: WorkstationPaths, fixedProfileDirectory: Bool = false) -> ActivationService {
    ActivationService(
        authority: authority, paths: paths, cost: kdfCost(), passwordPolicy: PasswordPolicy(checker: PWQualityChecker()),
        fixedProfileDirectory: fixedProfileDirectory, checkpoint: ParapheHooks.current.checkpoint
    )
}

