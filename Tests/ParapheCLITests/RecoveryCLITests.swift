import Foundation
import Testing

/// "Recover my digital signature" on the command line, in both deployment shapes: the recovery email,
/// the steps again, a new certificate, and the old one revoked (superseded) only once the new profile
/// is written and logged in to — also when the recovery is interrupted by kill -9.
@Suite(.serialized) struct RecoveryCLITests {
    @Test(arguments: Deployment.allCases) func aLostProfileIsRecoveredAndTheOldCertificateSuperseded(deployment: Deployment) throws {
        let scratch = try Scratch(deployment)
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        func activate(_ reference: String, environment: [String: String] = [:]) throws -> RunResult {
            try paraphe(["activate"] + scratch.workstation + ["--link", link, "--answers-file", answers, "--reference", reference, "--password-file", password],
                        environment: environment)
        }
        #expect(try activate(try firstReference(scratch)).status == 0)
        let profiles = URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("profiles")
        let certificate = profiles.appendingPathComponent("Jeanne_Tremblay.pem").path
        let oldSerial = try #require(try openssl(["x509", "-in", certificate, "-noout", "-serial"]).stdout.split(separator: "=").last)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // The profile is lost.
        try FileManager.default.removeItem(at: profiles)

        // An unknown address gets the same answer and no mail.
        let mailsBefore = try scratch.mails().count
        let unknown = try paraphe(["recover", "--email", "nobody@example.com"] + scratch.workstation)
        let known = try paraphe(["recover", "--email", "JEANNE.tremblay@example.com"] + scratch.workstation)
        #expect(unknown.status == 0 && known.status == 0, "\(unknown.stderr)\(known.stderr)")
        #expect(unknown.stdout == known.stdout, "the same answer whether or not the address is known")
        let mails = try scratch.mails()
        #expect(mails.count == mailsBefore + 1)
        let recovery = try #require(mails.last)
        #expect(recovery.contains("Subject: Digital Signature : Recovery"))
        #expect(recovery.contains(link))
        let newReference = try #require(line(after: "Reference number:", in: recovery))
        #expect(newReference != (try firstReference(scratch)))

        // Killed once the new profile is written, before its first log-in: the old certificate is still good.
        let crashed = try activate(newReference, environment: ["PARAPHE_TEST_CRASH_AT": "profileWritten"])
        #expect(crashed.status == SIGKILL)
        #expect(!(try isRevoked(oldSerial, in: scratch)), "never revoked before the new profile is logged in to")

        // The rerun finishes: a new certificate, the old one superseded.
        let finished = try activate(newReference)
        #expect(finished.status == 0, "\(finished.stderr)")
        let newSerial = try #require(try openssl(["x509", "-in", certificate, "-noout", "-serial"]).stdout.split(separator: "=").last)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(newSerial != oldSerial)
        #expect(try isRevoked(oldSerial, in: scratch, reason: "Superseded"))
        #expect(!(try isRevoked(newSerial, in: scratch)))
        #expect(try openssl(["verify", "-CAfile", scratch.authorityDir + "/ca/ca-cert.pem", certificate]).status == 0)

        // At most 3 recovery emails in 24 hours.
        for _ in 0..<4 { _ = try paraphe(["recover", "--email", applicant.email] + scratch.workstation) }
        let sent = try scratch.mails().filter { $0.contains("Subject: Digital Signature : Recovery") }.count
        #expect(sent == 3, "\(sent) recovery emails")
    }

    /// Whether the authority's CRL lists `serial` (with `reason`, if given).
    func isRevoked(_ serial: String, in scratch: Scratch, reason: String? = nil) throws -> Bool {
        let pem = try scratch.authority(["crl"]).stdout
        let file = try scratch.file("crl-\(UUID().uuidString).pem", pem)
        let text = try openssl(["crl", "-in", file, "-noout", "-text"]).stdout
        guard let range = text.range(of: "Serial Number: \(serial)") else { return false }
        guard let reason else { return true }
        return text[range.upperBound...].prefix(200).contains(reason)
    }
}
