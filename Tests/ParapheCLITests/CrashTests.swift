import Activation
import Foundation
import ParapheTestSupport
import Testing

/// `kill -9` during an activation, then a rerun with the same inputs: a sound profile and an
/// activated application, never consumed codes without a profile, never a temp file left.
@Suite(.serialized) struct CrashTests {
    struct Prepared {
        let scratch: Scratch
        let arguments: [String]
        let profiles: URL
        let link: String
        let password: String
    }

    func prepare(_ deployment: Deployment = .embedded) throws -> Prepared {
        let scratch = try Scratch(deployment)
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        let arguments =
            ["activate"] + scratch.workstation + [
                "--link", link, "--answers-file", answers,
                "--reference", reference, "--password-file", password,
            ]
        return Prepared(
            scratch: scratch, arguments: arguments, profiles: URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("profiles"),
            link: link, password: password)
    }

    /// The rerun ends well and leaves exactly the profile files, sound and readable by OpenSSL.
    func expectSoundAfterRerun(_ prepared: Prepared, context: String) throws {
        let rerun = try paraphe(prepared.arguments)
        #expect(rerun.status == 0, "\(context): rerun failed: \(rerun.stderr)")
        let files = Set((try? FileManager.default.contentsOfDirectory(atPath: prepared.profiles.path)) ?? [])
        #expect(files == ["Jeanne_Tremblay.p12", "Jeanne_Tremblay.pem"], "\(context): profile folder holds \(files)")
        let profile = prepared.profiles.appendingPathComponent("Jeanne_Tremblay.p12").path
        let info = try openssl(["pkcs12", "-in", profile, "-nodes", "-passin", "file:\(prepared.password)"])
        #expect(info.status == 0, "\(context): openssl cannot read the profile")
        let show = try prepared.scratch.authority(["show", prepared.link, "--json"])
        #expect(show.stdout.contains("\"status\" : \"activated\""), "\(context)")
        let pending = URL(fileURLWithPath: prepared.scratch.dataDir).appendingPathComponent("keystore/pending")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: pending.path)) ?? []).isEmpty, "\(context): parked key left")
        // Exactly one certificate was issued for the application.
        let audit = try prepared.scratch.authority(["audit", "--json"]).stdout
        #expect(audit.matches(of: /"event" : "certificateIssued"/).count == 1, "\(context)")
    }

    @Test(arguments: ["keyParked", "certificateIssued", "certificateFileWritten", "profileWritten"], Deployment.allCases)
    func killedAtANamedPointThenRerun(point: String, deployment: Deployment) throws {
        let prepared = try prepare(deployment)
        let crashed = try paraphe(prepared.arguments, environment: ["PARAPHE_TEST_CRASH_AT": point])
        #expect(crashed.status == SIGKILL, "\(point): the process should have been killed, got \(crashed.status): \(crashed.stderr)")
        try expectSoundAfterRerun(prepared, context: point)
    }

    @Test func killedAtRandomMomentsThenRerun() throws {
        let random = SeededRandomSource(seed: 20_261_125)
        var survived = 0
        let tries = 6
        for attempt in 0..<tries {
            let prepared = try prepare()
            let process = Process()
            process.executableURL = try parapheExecutable()
            process.arguments = prepared.arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Somewhere in the first ~2 s: identity check, key generation, issuance or the profile write.
            let delay = UInt32(random.bytes(2).reduce(0) { $0 << 8 | Int($1) } % 2_000)
            usleep(delay * 1_000)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try expectSoundAfterRerun(prepared, context: "random kill #\(attempt) after \(delay) ms")
            survived += 1
        }
        #expect(survived == tries)
    }
}
