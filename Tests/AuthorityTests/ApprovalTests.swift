import Activation
import AuthorityInterface
import Foundation
import Testing

@testable import Authority

@Suite("Approval and mail")
struct ApprovalTests {
    @Test("approve stores the application and mails the link and reference number (English)")
    func approvalInEnglish() async throws {
        let bed = TestBed(seed: 11)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let receipt = try await authority.approve(Sample.request())

        let overview = try await authority.overview(of: receipt.token)
        #expect(overview.questions == Sample.questions)
        #expect(overview.status == .approved)
        #expect(overview.language == .en)
        #expect(overview.identityAttemptsRemaining == 5)
        #expect(receipt.expiresAt == TestBed.start + 15 * 24 * 3600)

        // The mail is in new/ (tmp/ is empty again) and is the receipt's file.
        let mails = try bed.mails()
        #expect(mails.map(\.lastPathComponent) == [try #require(receipt.mailFile).lastPathComponent])
        #expect(try FileManager.default.contentsOfDirectory(atPath: bed.directory.appendingPathComponent("mail/tmp").path).isEmpty)
        #expect(try #require(receipt.mailFile).deletingLastPathComponent().lastPathComponent == "new")

        let mail = try ParsedMail(#require(receipt.mailFile))
        #expect(mail.headers["Subject"] == "Digital Signature : Application approved")
        #expect(mail.headers["From"] == "Paraphe Certification Authority <no-reply@paraphe.example>")
        #expect(mail.headers["To"] == "\"Jeanne Tremblay\" <jeanne@example.com>")
        #expect(mail.headers["MIME-Version"] == "1.0")
        #expect(mail.headers["Content-Type"] == "text/plain; charset=utf-8")
        #expect(mail.headers["Content-Transfer-Encoding"] == "8bit")
        #expect(mail.headers["Date"] == "Thu, 28 May 2026 20:26:40 +0000")
        let messageID = try #require(mail.headers["Message-ID"])
        #expect(messageID.hasPrefix("<") && messageID.hasSuffix("@paraphe.example>"))
        #expect(mail.bodyLines.contains(receipt.link), "the link is on a line of its own")
        #expect(receipt.link.hasPrefix("https://activation.paraphe.example/activate/"))
        #expect(mail.bodyLines.contains("Reference number: \(receipt.reference.formatted)"))
        #expect(receipt.reference.formatted.count == 11)
        #expect(mail.bodyLines.contains("Hello Jeanne Tremblay,"))
        #expect(mail.raw.contains("until 2026-06-12 20:26 UTC"))
        #expect(!mail.raw.contains("\r"), "Maildir files use LF")
        #expect(mail.raw.split(separator: "\n").allSatisfy { $0.utf8.count <= 998 })
        for answer in Sample.answers + Sample.answers.map(AnswerNormalizer.normalize) {
            #expect(!mail.raw.localizedCaseInsensitiveContains(answer))
        }

        let audit = try await authority.auditLog()
        #expect(audit.map(\.event) == ["caCreated", "approved"])
        #expect(audit[1].actor == "operator:tester")
        #expect(audit[1].token == receipt.token.formatted)
    }

    @Test("the French mail has an RFC 2047 subject, an encoded display name and the French reference line")
    func approvalInFrench() async throws {
        let bed = TestBed(seed: 12)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let subscriber = Subscriber(name: "Éloïse Gagné-Bérubé", email: "eloise@example.ca", language: .fr)
        let receipt = try await authority.approve(Sample.request(subscriber))
        let mail = try ParsedMail(#require(receipt.mailFile))
        let subject = try #require(mail.headers["Subject"])
        #expect(subject.hasPrefix("=?UTF-8?B?"))
        #expect(subject.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(ParsedMail.decodeHeader(subject) == "Signature numérique : Demande approuvée")
        let to = try #require(mail.headers["To"])
        #expect(to.hasSuffix(" <eloise@example.ca>"))
        #expect(ParsedMail.decodeHeader(String(to.dropLast(" <eloise@example.ca>".count))) == "Éloïse Gagné-Bérubé")
        #expect(mail.bodyLines.contains(receipt.link))
        #expect(mail.bodyLines.contains("Numéro de référence : \(receipt.reference.formatted)"))
        #expect(mail.bodyLines.contains("Bonjour Éloïse Gagné-Bérubé,"))
        #expect(mail.raw.contains("jusqu’au 2026-06-12 20 h 26 UTC"))
        // Every header line is ASCII; the 8-bit body is UTF-8.
        let headerBlock = mail.raw.components(separatedBy: "\n\n")[0]
        #expect(headerBlock.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(headerBlock.split(separator: "\n").allSatisfy { $0.utf8.count <= 78 })
    }

    @Test("a name containing a placeholder is not expanded")
    func placeholdersExpandOnce() {
        #expect(
            Mailer.fill("Hello {name}, {reference}", ["name": "{reference}", "reference": "123-456-789"])
                == "Hello {reference}, 123-456-789")
        #expect(Mailer.fill("{unknown} {", [:]) == "{unknown} {")
    }

    @Test("long non-ASCII header text is split into encoded-words on character boundaries, lines within 76")
    func encodedWordFolding() {
        let text = String(repeating: "Écrire à l’équipe — ", count: 8)
        let folded = Mailer.encodedWords(text, firstLinePrefix: "Subject: ".count)
        let lines = ("Subject: " + folded).components(separatedBy: "\n")
        #expect(lines.count > 3)
        #expect(lines.allSatisfy { $0.count <= 76 })
        #expect(ParsedMail.decodeHeader(folded.replacingOccurrences(of: "\n ", with: " ")) == text)
    }

    @Test("approve refuses malformed requests, and nothing is stored or mailed")
    func approvalValidation() async throws {
        let bed = TestBed(seed: 13)
        defer { bed.remove() }
        let authority = try await bed.authority()

        var twoQuestions = Sample.request()
        twoQuestions.questions.removeLast()
        #expect((await caught { try await authority.approve(twoQuestions) } as? AuthorityError)?.code == .badRequest)

        let blankAnswer = Sample.request(answers: ["Montréal", "   ", "Ramboutan"])
        #expect(await activationCode { try await authority.approve(blankAnswer) } == .invalidInput(field: .answer, problem: .empty))

        var emptyQuestion = Sample.request()
        emptyQuestion.questions[1] = " "
        #expect(await activationCode { try await authority.approve(emptyQuestion) } == .invalidInput(field: .question, problem: .empty))

        for email in ["jeanne", "jeanne@", "@example.com", "jeanne@example", "je anne@example.com", "jeanne@exämple.com", "a@b@example.com"] {
            let request = Sample.request(Subscriber(name: "Jeanne", email: email, language: .en))
            #expect((await caught { try await authority.approve(request) } as? AuthorityError)?.code == .badRequest, "\(email)")
        }

        let controlName = Sample.request(Subscriber(name: "Jeanne\u{1B}[31m", email: "j@example.com", language: .en))
        #expect(await activationCode { try await authority.approve(controlName) } == .invalidInput(field: .name, problem: .controlCharacters))

        #expect(try await authority.list().isEmpty)
        #expect(try bed.mails().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: bed.directory.appendingPathComponent("mail/tmp").path).isEmpty)
    }

    @Test("an unknown token is refused at step 1")
    func unknownToken() async throws {
        let bed = TestBed(seed: 14)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let token = try ApplicationToken(parsing: "7K2M-Q9XD-4HPA-VT3R")
        #expect(await activationCode { try await authority.overview(of: token) } == .unknownApplication)
        #expect(await activationCode { try await authority.verifyIdentity(token: token, answers: Sample.rightAnswers) } == .unknownApplication)
        #expect(await activationCode { try await authority.record(for: token) } == .unknownApplication)
    }

    @Test("list, record and revoke")
    func operatorFunctions() async throws {
        let bed = TestBed(seed: 15)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let first = try await authority.approve(Sample.request())
        let second = try await authority.approve(Sample.request(Subscriber(name: "Marc Roy", email: "marc@example.com", language: .fr)))
        #expect(first.token != second.token)
        #expect(first.reference != second.reference)

        let records = try await authority.list()
        #expect(records.map(\.name) == ["Jeanne Tremblay", "Marc Roy"])
        let record = try await authority.record(for: second.token)
        #expect(record.token == second.token.formatted)
        #expect(record.link == second.link)
        #expect(record.email == "marc@example.com")
        #expect(record.language == .fr)
        #expect(record.status == .approved)
        #expect(record.reference == second.reference.formatted)
        #expect(record.identityAttemptsRemaining == 5)
        #expect(record.codesExpireAt == second.expiresAt)
        #expect(record.activatedAt == nil && record.certificateSerial == nil)

        try await authority.revoke(.application(second.token), reason: .affiliationChanged)
        try await authority.revoke(.application(second.token), reason: .keyCompromise)
        #expect(try await authority.record(for: second.token).status == .revoked)
        #expect(await activationCode { try await authority.verifyIdentity(token: second.token, answers: Sample.rightAnswers) } == .revoked)
        let revocations = try await authority.auditLog().filter { $0.event == "revoked" }
        #expect(revocations.count == 1, "revoking twice changes nothing")
        #expect(revocations.first?.detail == "application revoked (was approved): affiliationChanged")
        #expect(
            (await caught { try await authority.revoke(.certificate(serial: "0A0B"), reason: .keyCompromise) } as? AuthorityError)?.code
                == .badRequest)
    }

    @Test("approvedAt backdates the codes")
    func backdatedApproval() async throws {
        let bed = TestBed(seed: 16)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let approvedAt = TestBed.start - 20 * 24 * 3600
        let receipt = try await authority.approve(Sample.request(approvedAt: approvedAt))
        #expect(receipt.expiresAt == approvedAt + 15 * 24 * 3600)
        let verification = try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers)
        #expect(verification.renewalNeeded)
        #expect(verification.codesIssuedAt == approvedAt)
    }
}
