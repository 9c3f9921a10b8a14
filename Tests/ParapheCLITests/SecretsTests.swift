import Foundation
import Testing

/// After complete flows, no password or security answer in clear anywhere Paraphe writes:
/// registry (WAL included), mail, audit, logs, temp files, output.
///
/// Modes as promised.
@Suite(.serialized) struct SecretsTests {
    @Test func noSecretInAnyFileOrOutputAfterActivationAndRenewal() throws {
        let scratch = try Scratch()
        let applicant = Applicant()
        let tmp = scratch.url.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let environment = ["PARAPHE_LOG_LEVEL": "trace", "TMPDIR": tmp.path]
        let approvedAt = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-16 * 24 * 3600))
        let link = try applicant.approve(in: scratch, approvedAt: approvedAt)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        var outputs: [RunResult] = []
        // Wrong answers, expired codes (renewal), then the activation and a login.
        let wrong = try scratch.file("wrong", "Paris\nFido\nDune\n")
        outputs.append(
            try paraphe(
                [
                    "activate", "--data-dir", scratch.dataDir, "--link", link, "--answers-file", wrong,
                    "--reference", try firstReference(scratch), "--password-file", password,
                ], environment: environment))
        outputs.append(
            try paraphe(
                [
                    "activate", "--data-dir", scratch.dataDir, "--link", link, "--answers-file", answers,
                    "--reference", try firstReference(scratch), "--password-file", password,
                ], environment: environment))
        #expect(outputs.last?.status == 75)
        let renewal = try #require(try scratch.mails().last)
        let reference = try #require(line(after: "Reference number:", in: renewal))
        outputs.append(
            try paraphe(
                [
                    "activate", "--data-dir", scratch.dataDir, "--link", link, "--answers-file", answers,
                    "--reference", reference, "--password-file", password,
                ], environment: environment))
        #expect(outputs.last?.status == 0)
        let profile = scratch.dataDir + "/profiles/Jeanne_Tremblay.p12"
        outputs.append(
            try paraphe(["profile", "verify", profile, "--data-dir", scratch.dataDir, "--password-file", password], environment: environment))
        outputs.append(try paraphe(["authority", "audit", "--data-dir", scratch.dataDir, "--json"], environment: environment))
        outputs.append(try paraphe(["authority", "show", link, "--data-dir", scratch.dataDir, "--json"], environment: environment))

        let secrets =
            [applicant.password] + applicant.answers + applicant.answers.map { $0.lowercased() }
            + ["montreal", "les miserables", "Paris", "Fido", "Dune"]
        for output in outputs {
            for secret in secrets {
                #expect(!output.stdout.contains(secret) && !output.stderr.contains(secret), "\(secret) printed")
            }
        }
        // Every file Paraphe wrote (the profile is encrypted; it holds no clear secret either).
        var scanned = 0
        for root in [URL(fileURLWithPath: scratch.dataDir), tmp] {
            guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { continue }
            for case let file as URL in walker {
                guard let bytes = try? Data(contentsOf: file) else { continue }
                scanned += 1
                for secret in secrets {
                    #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) found in \(file.lastPathComponent)")
                }
            }
        }
        #expect(scanned >= 6, "registry, WAL or journal, key files, mails, profile files")

        // Modes: data directory 0700, CA key, sealing key, registry and profile 0600.
        func mode(_ path: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1 }
        #expect(mode(scratch.dataDir) == 0o700)
        #expect(mode(scratch.dataDir + "/ca/ca-key.pem") == 0o600)
        #expect(mode(scratch.dataDir + "/authority.key") == 0o600)
        #expect(mode(scratch.dataDir + "/registry.sqlite") == 0o600)
        #expect(mode(profile) == 0o600)
    }

    @Test func aDataDirectoryWritableByOthersIsRefusedWithAClearMessage() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.dataDir, withIntermediateDirectories: true)
        chmod(scratch.dataDir, 0o777)
        // (A command that writes: commands that only read refuse a folder with no registry before looking at it.)
        let result = try paraphe(["components", "install", "--data-dir", scratch.dataDir])
        #expect(result.status == 73)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("writable"), "\(result.stderr)")
    }
}
