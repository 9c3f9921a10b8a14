import Foundation
import Testing

/// The Debian packages, installed for real, run, and purged: nothing is left but the authority's data and the users.
///
/// `scripts/test` builds them with `scripts/package` and names their folder in `PARAPHE_PACKAGES`. Root only (CI runs
/// as root), and never on a machine where Paraphe is already installed.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["PARAPHE_PACKAGES"] != nil && getuid() == 0))
struct PackageTests {
    let directory = URL(fileURLWithPath: ProcessInfo.processInfo.environment["PARAPHE_PACKAGES"] ?? "/nonexistent")

    func package(_ name: String) throws -> String {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let file = try #require(
            files.filter { $0.hasPrefix(name + "_") && $0.hasSuffix(".deb") }.sorted().last, "\(name)'s .deb in \(directory.path)")
        return directory.appendingPathComponent(file).path
    }

    func system(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws -> RunResult {
        try run(URL(fileURLWithPath: program), arguments, environment: environment)
    }

    @Test func bothPackagesInstallWorkAndPurgeCleanly() throws {
        for name in ["paraphe", "paraphe-authority"] {
            let status = try system("/usr/bin/dpkg-query", ["-W", "-f=${Status}", name]).stdout
            try #require(!status.contains("ok installed"), "\(name) is already installed here: the test does not touch a real installation")
        }
        let authorityData = "/var/lib/paraphe-authority"
        let dataExisted = FileManager.default.fileExists(atPath: authorityData)
        let debs = [try package("paraphe"), try package("paraphe-authority")]
        let installed = try system("/usr/bin/dpkg", ["-i"] + debs)
        #expect(installed.status == 0, "\(installed.stdout)\(installed.stderr)")
        defer {
            _ = try? system("/usr/bin/dpkg", ["--purge", "paraphe", "paraphe-authority"])
            if !dataExisted { try? FileManager.default.removeItem(atPath: authorityData) }
        }

        // The programs, where the units say they are.
        let version = try system("/usr/bin/paraphe", ["--version"])
        #expect(version.status == 0 && !version.stdout.isEmpty)
        #expect(try system("/usr/bin/paraphe-authority", ["--help"]).status == 0)
        for page in ["paraphe.1.gz", "paraphe-authority.1.gz", "paraphe.activate.1.gz"] {
            #expect(FileManager.default.fileExists(atPath: "/usr/share/man/man1/" + page), "man page \(page)")
        }
        #expect(FileManager.default.fileExists(atPath: "/usr/share/bash-completion/completions/paraphe"))

        // The units verify as installed (a template through an instance), and name /usr/bin.
        let units = FileManager.default.temporaryDirectory.appendingPathComponent("paraphe-units-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: units, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: units) }
        let instance = units.appendingPathComponent("paraphe-kiosk@tty2.service").path
        try FileManager.default.createSymbolicLink(atPath: instance, withDestinationPath: "/lib/systemd/system/paraphe-kiosk@.service")
        let verified = try system("/usr/bin/systemd-analyze", ["verify", "--man=no", "/lib/systemd/system/paraphe-authority.service", instance])
        let said = (verified.stdout + verified.stderr).split(separator: "\n").filter { $0.contains("paraphe") }
        #expect(verified.status == 0 && said.isEmpty, "systemd-analyze verify: \(said)")

        // Users from sysusers.d; the authority's data directory, 0700, its own.
        for user in ["paraphe-kiosk", "paraphe-authority"] {
            #expect(try system("/usr/bin/getent", ["passwd", user]).status == 0, "user \(user)")
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: authorityData)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        #expect((attributes[.ownerAccountName] as? String) == "paraphe-authority")

        // A smoke run: a demo application on the embedded authority, activated by the installed program, then the
        // installed provider lists the profile it registered.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("paraphe-package-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: scratch) }
        let data = scratch.appendingPathComponent("data").path
        let home = scratch.appendingPathComponent("home").path
        let environment = ["HOME": home, "LANG": "C.UTF-8"]
        let demo = try system("/usr/bin/paraphe", ["demo", "--no-wizard", "--data-dir", data, "--lang", "en"], environment: environment)
        #expect(demo.status == 0, "\(demo.stderr)")
        func field(_ label: String) -> String {
            demo.stdout.split(separator: "\n").first { $0.contains(label) }.map { String($0.split(separator: ":", maxSplits: 1).last ?? "") }?
                .trimmingCharacters(in: .whitespaces) ?? ""
        }
        try "Montréal\nRex\nLes Misérables\n".write(toFile: scratch.appendingPathComponent("answers").path, atomically: true, encoding: .utf8)
        try "Quartz-Violet-Horizon-93\n".write(toFile: scratch.appendingPathComponent("password").path, atomically: true, encoding: .utf8)
        let activated = try system(
            "/usr/bin/paraphe",
            [
                "activate", "--data-dir", data, "--link", field("Activation link"), "--answers-file", scratch.appendingPathComponent("answers").path,
                "--reference", field("Reference number"), "--password-file", scratch.appendingPathComponent("password").path, "--profile-dir",
                scratch.path, "--install",
            ], environment: environment)
        #expect(activated.status == 0, "\(activated.stdout)\(activated.stderr)")
        #expect(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("Jeanne_Tremblay.p12").path))
        let listed = try system(
            "/usr/bin/pkcs11-tool", ["--module", "/usr/lib/paraphe/libparaphe-pkcs11.so", "-L"], environment: environment)
        #expect(listed.status == 0 && listed.stdout.contains("token label        : Jeanne_Tremblay"), "\(listed.stdout)\(listed.stderr)")

        // Purge: nothing of the packages is left but the authority's data (said where) and the users.
        let purged = try system("/usr/bin/dpkg", ["--purge", "paraphe", "paraphe-authority"])
        #expect(purged.status == 0, "\(purged.stderr)")
        #expect(purged.stderr.contains(authorityData), "the purge says where the authority's data stays: \(purged.stderr)")
        for path in [
            "/usr/bin/paraphe", "/usr/bin/paraphe-authority", "/usr/lib/paraphe", "/etc/paraphe/config.toml",
            "/lib/systemd/system/paraphe-authority.service",
            "/lib/systemd/system/paraphe-kiosk@.service", "/usr/share/p11-kit/modules/paraphe.module", "/usr/lib/sysusers.d/paraphe.conf",
            "/usr/share/doc/paraphe",
        ] {
            #expect(!FileManager.default.fileExists(atPath: path), "\(path) is left after the purge")
        }
        #expect(FileManager.default.fileExists(atPath: authorityData), "the authority's data is never purged")
        let left = try system("/usr/bin/dpkg-query", ["-W", "-f=${Status}", "paraphe"]).stdout
        #expect(!left.contains("ok installed") && !left.contains("config-files"), "dpkg still has paraphe: \(left)")
    }
}
