import Activation
import Authority
import Foundation
import OperatorCommands

#if canImport(Glibc)
    import Glibc
#endif

/// The hooks of the test binaries (`paraphe-testable`, `paraphe-authority-testable`), from their
/// environment: PARAPHE_FAKE_NOW (ISO 8601) fixes the clock; PARAPHE_FAKE_NOW_FILE names a file whose
/// ISO 8601 line is the time now (the test moves a running service's clock by rewriting it);
/// PARAPHE_TEST_CRASH_AT names an activation checkpoint where the process kills itself with SIGKILL, so the
/// tests prove a rerun recovers from there.
public func testHooksFromEnvironment() -> ParapheHooks {
    let environment = ProcessInfo.processInfo.environment
    var hooks = ParapheHooks()
    if let fake = environment["PARAPHE_FAKE_NOW"], let date = ISO8601DateFormatter().date(from: fake) {
        hooks.clock = ManualTimeSource(date)
    }
    if let file = environment["PARAPHE_FAKE_NOW_FILE"] {
        hooks.clock = FileTimeSource(URL(fileURLWithPath: file))
    }
    if let armed = environment["PARAPHE_TEST_CRASH_AT"].flatMap(ActivationCheckpoint.init(rawValue:)) {
        hooks.checkpoint = { point in
            if point == armed { kill(getpid(), SIGKILL) }
        }
    }
    if let armed = environment["PARAPHE_TEST_CRASH_AT"].flatMap(AuthorityCheckpoint.init(rawValue:)) {
        hooks.authorityCheckpoint = { point in
            if point == armed { kill(getpid(), SIGKILL) }
        }
    }
    return hooks
}
