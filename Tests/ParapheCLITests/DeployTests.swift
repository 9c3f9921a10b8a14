import Foundation
import Testing

/// The systemd units in deploy/: `systemd-analyze verify` says nothing about them, and `systemd-analyze
/// security` rates both at most 3.0 (deploy/verify, on the binaries this build made).
@Suite struct DeployTests {
    @Test func theUnitsVerifyAndTheirExposureIsLow() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binaries = try parapheExecutable(name: "paraphe").deletingLastPathComponent()
        let result = try run(root.appendingPathComponent("deploy/verify"), ["--bin", binaries.path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("exposure") && (result.stdout + result.stderr).contains("all checks passed"), "\(result.stdout)")
    }
}
