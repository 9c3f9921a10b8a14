import Foundation
import Testing

/// End to end through the built `paraphe` binary: approve → read the mail → activate → verify.
@Suite(.serialized) struct ActivateCLITests {
    @Test(arguments: ["en", "fr"], Deployment.allCases) func approveMailActivateVerify(lang: String, deployment: Deployment) throws {
        let scratch = try Scratch(deployment)
        var applicant = Applicant()
        applicant.lang = lang
        let link = try applicant.approve(in: scratch)
        #expect(link.hasPrefix("https://"))

        let mails = try scratch.mails()
        #expect(mails.count == 1)
        let mail = try #require(mails.first)
        let referenceLabel = lang == "en" ? "Reference number:" : "Numéro de référence :"
        let reference = try #require(line(after: referenceLabel, in: mail))
        #expect(reference.range(of: #"^\d{3}-\d{3}-\d{3}$"#, options: .regularExpression) != nil)
        #expect(mail.split(separator: "\n").contains { $0 == link }, "the link stands on a line of its own")
        if lang == "en" {
            #expect(mail.contains("Subject: Digital Signature : Application approved"))
        } else {
            #expect(mail.contains("Subject: =?utf-8?") || mail.contains("Subject: =?UTF-8?"))
        }
        for answer in applicant.answers { #expect(!mail.contains(answer)) }

        // Reference typed with blanks and in the middle of dashes, as copied from the mail.
        let typed = " " + reference.replacingOccurrences(of: "-", with: " - ") + " "
        let answers = try scratch.file("answers", "  montreal \nREX\nwrong\n")
        let password = try scratch.file("password", applicant.password + "\n")
        let result = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", " \(link)\n", "--answers-file", answers,
                "--reference", typed, "--password-file", password,
            ])
        #expect(result.status == 0, "activate failed: \(result.stderr)")
        let profile = URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("profiles/Jeanne_Tremblay.p12")
        let certificateFile = URL(fileURLWithPath: scratch.dataDir).appendingPathComponent("profiles/Jeanne_Tremblay.pem")
        #expect(result.stdout.contains(profile.path))
        #expect(result.stdout.contains(lang == "en" ? "Your digital signature is activated." : "Votre signature numérique est activée."))
        #expect(!result.stdout.contains(applicant.password) && !result.stderr.contains(applicant.password))

        // The profile: 0600, readable by OpenSSL 3 without -legacy, at 600,000 iterations.
        let attributes = try FileManager.default.attributesOfItem(atPath: profile.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let info = try openssl(["pkcs12", "-info", "-in", profile.path, "-noout", "-passin", "file:\(password)"])
        #expect(info.status == 0, "\(info.stderr)")
        let infoText = info.stdout + info.stderr
        #expect(infoText.contains("AES-256-CBC"))
        #expect(infoText.contains("MAC: sha256, Iteration 600000"))
        let iterations = infoText.matches(of: /Iteration (\d+)/).compactMap { Int($0.1) }
        #expect(!iterations.isEmpty && iterations.allSatisfy { $0 >= 600_000 })

        // The certificate file verifies against the CA, with the required extensions.
        let ca = URL(fileURLWithPath: scratch.authorityDir).appendingPathComponent("ca/ca-cert.pem").path
        let verify = try openssl(["verify", "-x509_strict", "-purpose", "smimesign", "-CAfile", ca, certificateFile.path])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let text = try openssl(["x509", "-in", certificateFile.path, "-noout", "-text"]).stdout
        #expect(text.contains("CN = Jeanne Tremblay") || text.contains("CN=Jeanne Tremblay"))
        #expect(text.contains("email:jeanne.tremblay@example.com"))
        #expect(text.contains("Digital Signature, Non Repudiation"))
        #expect(text.contains("E-mail Protection"))

        // Logging in again from the command line; a wrong password is refused.
        let verified = try paraphe(
            ["profile", "verify", profile.path, "--password-file", "-"] + scratch.workstation,
            stdin: Array((applicant.password + "\n").utf8))
        #expect(verified.status == 0, "\(verified.stderr)")
        let fingerprint = try openssl(["x509", "-in", certificateFile.path, "-noout", "-fingerprint", "-sha256"]).stdout
        let hex = try #require(fingerprint.split(separator: "=").last).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(verified.stdout.contains(hex))
        let wrong = try paraphe(
            ["profile", "verify", profile.path, "--password-file", "-"] + scratch.workstation,
            stdin: Array("Not-The-Password-99\n".utf8))
        #expect(wrong.status == 77)

        // The codes are single-use: running the same command again issues nothing new; on this
        // workstation it logs in to the profile already there. Elsewhere (another data directory's
        // workstation files gone) it is refused.
        let again = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", link, "--answers-file", answers,
                "--reference", reference, "--password-file", password,
            ])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains(hex))
        let audit = try scratch.authority(["audit", "--json"]).stdout
        #expect(audit.matches(of: /"event" : "certificateIssued"/).count == 1)
        try FileManager.default.removeItem(atPath: scratch.dataDir + "/keystore/activated")
        let elsewhere = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", link, "--answers-file", answers,
                "--reference", reference, "--password-file", password,
            ])
        #expect(elsewhere.status == 77)
    }

    @Test(arguments: Deployment.allCases) func expiredCodesAreRenewedThenTheOldNumberIsRefusedAndTheNewOneWorks(deployment: Deployment) throws {
        let scratch = try Scratch(deployment)
        let applicant = Applicant()
        let approvedAt = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-16 * 24 * 3600))
        let link = try applicant.approve(in: scratch, approvedAt: approvedAt)
        let old = try firstReference(scratch)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)

        let first = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", link, "--answers-file", answers,
                "--reference", old, "--password-file", password,
            ])
        #expect(first.status == 75, "\(first.stderr)")
        #expect(first.stderr.contains("j•••@example.com"))
        let mails = try scratch.mails()
        #expect(mails.count == 2)
        let renewal = try #require(mails.last { $0.contains("Subject: Digital Signature : New activation codes") })
        let new = try #require(line(after: "Reference number:", in: renewal))
        #expect(new != old)
        #expect(!FileManager.default.fileExists(atPath: scratch.dataDir + "/profiles/Jeanne_Tremblay.p12"))

        let stale = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", link, "--answers-file", answers,
                "--reference", old, "--password-file", password,
            ])
        #expect(stale.status == 77, "\(stale.stderr)")
        #expect(stale.stderr.contains("newest email"))

        let fresh = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", link, "--answers-file", answers,
                "--reference", new, "--password-file", password,
            ])
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(FileManager.default.fileExists(atPath: scratch.dataDir + "/profiles/Jeanne_Tremblay.p12"))
    }

    @Test(arguments: Deployment.allCases) func wrongAnswersSayHowManyAttemptsRemain(deployment: Deployment) throws {
        let scratch = try Scratch(deployment)
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let answers = try scratch.file("answers", "Paris\nRex\nWrong\n")
        let password = try scratch.file("password", applicant.password)
        let result = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", link, "--answers-file", answers,
                "--reference", reference, "--password-file", password,
            ])
        #expect(result.status == 77)
        #expect(result.stderr.contains("4 attempts remain"))
        #expect(!result.stderr.contains("Paris") && !result.stderr.contains("Rex"))
    }

    @Test func aTypoInTheReferenceNumberExits65BeforeAnyLookup() throws {
        let scratch = try Scratch()
        let answers = try scratch.file("answers", "a\nb\nc\n")
        let password = try scratch.file("password", "Vert-Orage-Piano-47")
        let result = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", "7K2M-Q9XD-4HPA-VT3R", "--answers-file", answers,
                "--reference", "123-456-780", "--password-file", password,
            ])
        let valid = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", "7K2M-Q9XD-4HPA-VT3R", "--answers-file", answers,
                "--reference", "123-456-789", "--password-file", password,
            ])
        // Exactly one of the two final digits is the right check digit for 12345678; the other is a typo.
        #expect([result.status, valid.status].contains(65))
        #expect(!FileManager.default.fileExists(atPath: scratch.dataDir), "no data directory was created: nothing was looked up")
    }

    @Test func hostileInputExits65WithOneCleanLine() throws {
        let scratch = try Scratch()
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let password = try scratch.file("password", applicant.password)
        let hostile: [[UInt8]] = [
            Array("Montréal\u{1B}]0;pwned\u{07}\nRex\nLes Misérables\n".utf8),
            Array("Montréal\u{1B}[2J\nRex\nLes Misérables\n".utf8),
            [0x4D, 0xFF, 0xFE, 0x0A, 0x52, 0x0A, 0x4C, 0x0A],
            Array("Mont\u{0}réal\nRex\nLes Misérables\n".utf8),
            Array("Montréal\u{202E}\nRex\nLes Misérables\n".utf8),
            Array(String(repeating: "A", count: 1_048_576).utf8),
        ]
        for (index, bytes) in hostile.enumerated() {
            let answers = try scratch.file("hostile-\(index)", bytes)
            let result = try paraphe(
                ["activate"] + scratch.workstation + [
                    "--link", link, "--answers-file", answers,
                    "--reference", reference, "--password-file", password,
                ])
            #expect(result.status == 65, "case \(index): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "case \(index): one line")
            #expect(!result.stderrBytes.contains { $0 < 0x20 && $0 != 0x0A }, "case \(index): no control byte")
            #expect(!result.stdoutBytes.contains(0x1B))
        }
        // Issue 10.12: a control character the link parser would have skipped is refused too.
        for badLink in ["\u{1B}[31m7K2M-Q9XD-4HPA-VT3R", String(repeating: "7", count: 120_000), "\u{01}" + link, link + "\u{7F}"] {
            let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
            let result = try paraphe(
                ["activate"] + scratch.workstation + [
                    "--link", badLink, "--answers-file", answers,
                    "--reference", reference, "--password-file", password,
                ])
            #expect(result.status == 65)
            #expect(!result.stderrBytes.contains(0x1B))
        }
        // Issue 10.12: a folder given as the answers file cannot be read (66), it is not bad data (65).
        let folder = scratch.url.appendingPathComponent("answers-folder").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let fromFolder = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", link, "--answers-file", folder,
                "--reference", reference, "--password-file", password,
            ])
        #expect(fromFolder.status == 66, "\(fromFolder.stderr)")
        // The application is still usable afterwards: no attempt was spent.
        let show = try paraphe(["authority", "show", link, "--data-dir", scratch.dataDir, "--json"])
        #expect(show.stdout.contains("\"identityAttemptsRemaining\" : 5"))
    }

    @Test func passwordsNeverComeFromArgvAndAreChecked() throws {
        let scratch = try Scratch()
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let result = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", link, "--answers-file", answers,
                "--reference", reference, "--password-file", "-",
            ], stdin: Array("password1234\n".utf8))
        #expect(result.status == 65)
        #expect(result.stderr.contains("Not common or easy to guess"))
        #expect(!result.stderr.contains("password1234"))
        let help = try paraphe(["activate", "--help"])
        #expect(!help.stdout.contains("--password "))
    }

    @Test func theInjectedClockDecidesExpiry() throws {
        let scratch = try Scratch()
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        let later = ISO8601DateFormatter().string(from: Date().addingTimeInterval(15 * 24 * 3600 + 60))
        let result = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", link, "--answers-file", answers,
                "--reference", try firstReference(scratch), "--password-file", password,
            ],
            environment: ["PARAPHE_FAKE_NOW": later])
        #expect(result.status == 75, "\(result.stderr)")
        #expect(try scratch.mails().count == 2)
    }
}
