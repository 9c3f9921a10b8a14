import Activation
import AuthorityInterface
import Foundation
import Testing

@testable import Authority

@Suite("Activation codes and renewal")
struct CodesTests {
    static let day: TimeInterval = 24 * 3600

    @Test("codes are valid until 15 days − 1 s, expire at 15 days; renewal mails a new reference and kills the old pair")
    func expiryAndRenewal() async throws {
        let bed = TestBed(seed: 31)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let receipt = try await authority.approve(Sample.request())

        bed.time.set(TestBed.start + 15 * Self.day - 1)
        let valid = try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers)
        #expect(!valid.renewalNeeded)

        bed.time.set(TestBed.start + 15 * Self.day)
        let expired = try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers)
        #expect(expired.renewalNeeded)
        #expect(expired.renewalReason == ActivationError(.codesExpired(expiredAt: receipt.expiresAt)))
        #expect(
            await activationCode {
                try await authority.issueCertificate(
                    token: receipt.token, reference: receipt.reference, authorization: expired.authorization, csrDER: try TestKey().csr())
            } == .codesExpired(expiredAt: receipt.expiresAt))

        let renewal = try await authority.renewCodes(token: receipt.token, authorization: expired.authorization)
        #expect(renewal.maskedEmail == "j•••@example.com")
        #expect(renewal.issuedAt == bed.time.now())
        #expect(renewal.expiresAt == bed.time.now() + 15 * Self.day)
        #expect(renewal.authorization != expired.authorization)

        // The renewal mail, in new/, with a different reference number.
        #expect(try bed.mails().count == 2)
        let mail = try ParsedMail(#require(renewal.mailFile))
        #expect(mail.headers["Subject"] == "Digital Signature : New activation codes")
        #expect(mail.bodyLines.contains(receipt.link))
        let line = try #require(mail.bodyLines.first { $0.hasPrefix("Reference number: ") })
        let newReference = try ReferenceNumber(parsing: String(line.dropFirst("Reference number: ".count)))
        #expect(newReference != receipt.reference)
        #expect(!mail.raw.contains(renewal.authorization.revealed))
        #expect(try await authority.record(for: receipt.token).reference == newReference.formatted)

        // The old authorization cannot renew again; the old reference is refused; the new pair works.
        #expect(
            await activationCode { try await authority.renewCodes(token: receipt.token, authorization: expired.authorization) }
                == .identityNotVerified)
        #expect(
            await activationCode {
                try await authority.issueCertificate(
                    token: receipt.token, reference: receipt.reference, authorization: renewal.authorization, csrDER: try TestKey().csr())
            } == .wrongReference(remaining: 4))
        // The old authorization code proves nothing any more, and uses up nothing.
        #expect(
            await activationCode {
                try await authority.issueCertificate(
                    token: receipt.token, reference: newReference, authorization: expired.authorization, csrDER: try TestKey().csr())
            } == .identityNotVerified)
        #expect(try await authority.record(for: receipt.token).wrongReferencesInARow == 1)
        let issued = try await authority.issueCertificate(
            token: receipt.token, reference: newReference, authorization: renewal.authorization, csrDER: try TestKey().csr())
        #expect(!issued.certificateDER.isEmpty)
        #expect(try await authority.record(for: receipt.token).status == .activated)
    }

    @Test("the French renewal mail")
    func frenchRenewalMail() async throws {
        let bed = TestBed(seed: 32)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let receipt = try await authority.approve(Sample.request(Subscriber(name: "Marc Roy", email: "marc@example.com", language: .fr)))
        let verification = try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers)
        let renewal = try await authority.renewCodes(token: receipt.token, authorization: verification.authorization)
        let mail = try ParsedMail(#require(renewal.mailFile))
        #expect(ParsedMail.decodeHeader(try #require(mail.headers["Subject"])) == "Signature numérique : Nouveaux codes d’activation")
        #expect(mail.headers["To"] == "\"Marc Roy\" <marc@example.com>")
        #expect(mail.bodyLines.contains { $0.hasPrefix("Numéro de référence : ") })
        #expect(mail.bodyLines.contains(receipt.link))
    }

    @Test("at most 3 renewals in 24 hours")
    func renewalLimit() async throws {
        let bed = TestBed(seed: 33)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let receipt = try await authority.approve(Sample.request())
        var code = try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers).authorization
        let firstRenewal = bed.time.now()
        for _ in 0..<3 {
            code = try await authority.renewCodes(token: receipt.token, authorization: code).authorization
            bed.time.advance(by: 3600)
        }
        #expect(try await authority.record(for: receipt.token).renewalsLast24h == 3)
        let mailsBefore = try bed.mails().count
        #expect(
            await activationCode { try await authority.renewCodes(token: receipt.token, authorization: code) }
                == .renewalLimit(nextAllowedAt: firstRenewal + Self.day))
        #expect(try bed.mails().count == mailsBefore, "a refused renewal sends nothing")
        #expect(try FileManager.default.contentsOfDirectory(atPath: bed.directory.appendingPathComponent("mail/tmp").path).isEmpty)

        bed.time.set(firstRenewal + Self.day)
        code = try await authority.renewCodes(token: receipt.token, authorization: code).authorization
        #expect(try await authority.record(for: receipt.token).renewalsLast24h == 3)
        #expect(try await authority.auditLog().filter { $0.event == "codesRenewed" }.count == 4)
    }

    @Test("5 wrong reference numbers in a row require a renewal, which resets the count")
    func wrongReferences() async throws {
        let bed = TestBed(seed: 34)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let receipt = try await authority.approve(Sample.request())
        let verification = try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers)
        let wrong = try otherReference(than: receipt.reference)
        let csr = try TestKey().csr()

        for remaining in [4, 3, 2, 1] {
            #expect(
                await activationCode {
                    try await authority.issueCertificate(
                        token: receipt.token, reference: wrong, authorization: verification.authorization, csrDER: csr)
                } == .wrongReference(remaining: remaining))
        }
        #expect(
            await activationCode {
                try await authority.issueCertificate(token: receipt.token, reference: wrong, authorization: verification.authorization, csrDER: csr)
            } == .renewalRequired)
        // Now even the right reference is refused.
        #expect(
            await activationCode {
                try await authority.issueCertificate(
                    token: receipt.token, reference: receipt.reference, authorization: verification.authorization, csrDER: csr)
            } == .renewalRequired)
        #expect(try await authority.record(for: receipt.token).wrongReferencesInARow == 5)
        let again = try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers)
        #expect(again.renewalNeeded)
        #expect(again.renewalReason == ActivationError(.renewalRequired))
        #expect(try await authority.auditLog().filter { $0.event == "referenceRejected" }.count == 5)

        let renewal = try await authority.renewCodes(token: receipt.token, authorization: again.authorization)
        let record = try await authority.record(for: receipt.token)
        #expect(record.wrongReferencesInARow == 0)
        let newReference = try ReferenceNumber(parsing: record.reference)
        _ = try await authority.issueCertificate(token: receipt.token, reference: newReference, authorization: renewal.authorization, csrDER: csr)
    }

    @Test("renewal needs the current authorization code")
    func renewalNeedsAuthorization() async throws {
        let bed = TestBed(seed: 35)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let receipt = try await authority.approve(Sample.request())
        #expect(
            await activationCode { try await authority.renewCodes(token: receipt.token, authorization: AuthorizationCode("0000000000000000")) }
                == .identityNotVerified)
        #expect(try bed.mails().count == 1)
    }
}

/// A valid reference number (right check digit) different from `reference`.
func otherReference(than reference: ReferenceNumber) throws -> ReferenceNumber {
    let body = reference.digits.hasPrefix("12345678") ? "87654321" : "12345678"
    return try ReferenceNumber(parsing: body + String(Damm.checkDigit(body)))
}
