import Activation
import AuthorityInterface
import Crypto
import Foundation
import GRDB
import Testing
import X509

@testable import Authority

@Suite("Certificate issuance")
struct CertificateTests {
    /// Approves, verifies and returns what step 5 needs.
    static func readyToIssue(_ authority: EmbeddedAuthority, _ subscriber: Subscriber = Sample.subscriber) async throws -> (
        ApprovalReceipt, AuthorizationCode
    ) {
        let receipt = try await authority.approve(Sample.request(subscriber))
        let verification = try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers)
        return (receipt, verification.authorization)
    }

    @Test(
        "the certificate has the profile of SPEC §4 and verifies with openssl -x509_strict -purpose smimesign",
        arguments: [TestKey.Kind.p256, .rsa2048])
    func certificateProfile(kind: TestKey.Kind) async throws {
        let bed = TestBed(seed: 41)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, code) = try await Self.readyToIssue(authority)
        let key = try TestKey(kind)
        // The CSR's subject is ignored: the registry's name goes in the certificate.
        let issued = try await authority.issueCertificate(
            token: receipt.token, reference: receipt.reference, authorization: code, csrDER: try key.csr(commonName: "Mallory"))
        #expect(issued.chainDER == [try await authority.caCertificateDER()])

        let folder = bed.directory.deletingLastPathComponent()
        let leafURL = folder.appendingPathComponent("leaf.pem")
        try pem(issued.certificateDER).write(to: leafURL, atomically: true, encoding: .utf8)

        let text = try openssl(["x509", "-in", leafURL.path, "-noout", "-text"])
        #expect(text.status == 0)
        #expect(text.output.contains("Version: 3 (0x2)"))
        #expect(text.output.contains("Subject: CN = Jeanne Tremblay"))
        #expect(!text.output.contains("Mallory"))
        #expect(text.output.contains("Issuer: O = Paraphe, CN = Paraphe Embedded Root CA"))
        #expect(text.output.contains("email:jeanne@example.com"))
        #expect(text.output.contains("X509v3 Key Usage: critical"))
        #expect(text.output.contains("Digital Signature, Non Repudiation\n"))
        #expect(text.output.contains("E-mail Protection, 1.3.6.1.5.5.7.3.36") || text.output.contains("E-mail Protection, Document Signing"))
        #expect(text.output.contains("CA:FALSE"))
        #expect(text.output.contains("X509v3 Subject Key Identifier"))
        #expect(text.output.contains("X509v3 Authority Key Identifier"))
        #expect(text.output.contains("Not Before: May 28 20:21:40 2026 GMT"))
        #expect(text.output.contains("Not After : May 28 20:26:40 2029 GMT"))

        let verify = try openssl(["verify", "-x509_strict", "-purpose", "smimesign", "-CAfile", authority.caCertificateURL.path, leafURL.path])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains(": OK"))

        let certificate = try Certificate(derEncoded: issued.certificateDER)
        let serial = Array(certificate.serialNumber.bytes)
        #expect(serial.count >= 8 && serial.count <= 20)
        #expect(serial[0] & 0x80 == 0)
        #expect(certificate.publicKey == key.privateKey.publicKey)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        #expect(calendar.dateComponents([.year, .second], from: TestBed.start, to: certificate.notValidAfter) == DateComponents(year: 3, second: 0))
        #expect(certificate.notValidBefore == TestBed.start - 300)
        let record = try await authority.record(for: receipt.token)
        #expect(record.certificateSerial == serial.map { String(format: "%02X", $0) }.joined())
        #expect(record.activatedAt == TestBed.start)
        #expect(record.status == .activated)
        #expect(try await authority.auditLog().last?.detail == "serial \(record.certificateSerial ?? "")")
    }

    @Test("the CA certificate: self-signed root, CA:TRUE critical, keyCertSign + cRLSign, 20 years; key in PKCS#8")
    func caCertificate() async throws {
        let bed = TestBed(seed: 42)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let text = try openssl(["x509", "-in", authority.caCertificateURL.path, "-noout", "-text"])
        #expect(text.output.contains("Subject: O = Paraphe, CN = Paraphe Embedded Root CA"))
        #expect(text.output.contains("X509v3 Basic Constraints: critical\n                CA:TRUE"))
        #expect(text.output.contains("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"))
        #expect(text.output.contains("X509v3 Subject Key Identifier"))
        #expect(text.output.contains("ASN1 OID: prime256v1"))
        #expect(text.output.contains("Not After : May 28 20:26:40 2046 GMT"))
        let selfVerify = try openssl(["verify", "-x509_strict", "-CAfile", authority.caCertificateURL.path, authority.caCertificateURL.path])
        #expect(selfVerify.status == 0, "\(selfVerify.output)")
        let keyURL = bed.directory.appendingPathComponent("ca/ca-key.pem")
        let keyText = try String(contentsOf: keyURL, encoding: .utf8)
        #expect(keyText.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(try openssl(["pkey", "-in", keyURL.path, "-noout"]).status == 0)

        // A second instance loads the same CA.
        #expect(try await bed.authority().caCertificateDER() == (try await authority.caCertificateDER()))
        #expect(try await authority.auditLog().filter { $0.event == "caCreated" }.count == 1)
    }

    @Test("a damaged CA file is reported, never replaced")
    func damagedCA() async throws {
        let bed = TestBed(seed: 43)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let original = try Data(contentsOf: authority.caCertificateURL)
        let damaged = Data("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8)
        try damaged.write(to: authority.caCertificateURL)
        #expect((await caught { try await bed.authority() } as? AuthorityError)?.code == .certificateAuthority)
        #expect(try Data(contentsOf: authority.caCertificateURL) == damaged)

        try original.write(to: authority.caCertificateURL)
        let keyURL = bed.directory.appendingPathComponent("ca/ca-key.pem")
        let key = try Data(contentsOf: keyURL)
        // Another valid key that does not match the certificate.
        try Data(P256.Signing.PrivateKey().pemRepresentation.utf8).write(to: keyURL)
        #expect((await caught { try await bed.authority() } as? AuthorityError)?.code == .certificateAuthority)
        try key.write(to: keyURL)
        _ = try await bed.authority()
    }

    @Test("two concurrent activations with the right codes: one certificate; the same key again gets it back")
    func concurrentIssuance() async throws {
        let bed = TestBed(seed: 44)
        defer { bed.remove() }
        let (receipt, code) = try await Self.readyToIssue(try await bed.authority())
        let keys = [try TestKey(), try TestKey()]
        let requests = try keys.map { try $0.csr() }

        let results = await withTaskGroup(of: (Int, Result<IssuedCertificate, any Error>).self) { group in
            for (index, csr) in requests.enumerated() {
                group.addTask {
                    do {
                        let authority = try await bed.authority()
                        return (
                            index,
                            .success(
                                try await authority.issueCertificate(
                                    token: receipt.token, reference: receipt.reference, authorization: code, csrDER: csr))
                        )
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var all: [(Int, Result<IssuedCertificate, any Error>)] = []
            for await result in group { all.append(result) }
            return all
        }
        let winners = results.compactMap { index, result in (try? result.get()).map { (index, $0) } }
        let losers = results.compactMap { _, result -> (any Error)? in
            if case .failure(let error) = result { return error }
            return nil
        }
        try #require(winners.count == 1)
        #expect(losers.count == 1)
        #expect((losers.first as? ActivationError)?.code == .codesUsed)

        let authority = try await bed.authority()
        let (winner, certificate) = try #require(winners.first)
        // Resume: the same key (even in a new CSR) gets the same certificate back.
        let again = try await authority.issueCertificate(
            token: receipt.token, reference: receipt.reference, authorization: code, csrDER: try keys[winner].csr(commonName: "Resumed"))
        #expect(again == certificate)
        // The other key still does not.
        #expect(
            await activationCode {
                try await authority.issueCertificate(
                    token: receipt.token, reference: receipt.reference, authorization: code, csrDER: requests[1 - winner])
            } == .codesUsed)
        // Wrong codes with the winning key: no replay.
        #expect(
            await activationCode {
                try await authority.issueCertificate(
                    token: receipt.token, reference: try otherReference(than: receipt.reference), authorization: code, csrDER: requests[winner])
            } == .codesUsed)
        // The stored key digest is the SHA-256 of the winner's whole SubjectPublicKeyInfo (as openssl writes it).
        let spki = try await authority.registry.application(token: receipt.token)?.state.activatedKeyDigest.map { Data($0) }
        let folder = bed.directory.deletingLastPathComponent()
        try pem(certificate.certificateDER).write(to: folder.appendingPathComponent("winner.pem"), atomically: true, encoding: .utf8)
        _ = try openssl([
            "x509", "-in", folder.appendingPathComponent("winner.pem").path, "-noout", "-pubkey", "-out",
            folder.appendingPathComponent("winner.pub").path,
        ])
        _ = try openssl([
            "pkey", "-pubin", "-in", folder.appendingPathComponent("winner.pub").path, "-outform", "DER", "-out",
            folder.appendingPathComponent("winner.spki").path,
        ])
        let spkiDER = try Data(contentsOf: folder.appendingPathComponent("winner.spki"))
        #expect(spki == Data(SHA256.hash(data: spkiDER)))

        let events = try await authority.auditLog().map(\.event)
        #expect(events.filter { $0 == "certificateIssued" }.count == 1)
        #expect(events.filter { $0 == "certificateReissued" }.count == 1)
        #expect(await activationCode { try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers) } == .alreadyActivated)
    }

    @Test("a CSR that is not PKCS#10, or whose signature does not verify, is refused without using a code")
    func invalidRequests() async throws {
        let bed = TestBed(seed: 45)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, code) = try await Self.readyToIssue(authority)

        for garbage in [[], [0x30, 0x03, 0x02, 0x01, 0x00], Array(repeating: UInt8(0x41), count: 100)] as [[UInt8]] {
            #expect(
                (await caught {
                    try await authority.issueCertificate(token: receipt.token, reference: receipt.reference, authorization: code, csrDER: garbage)
                } as? AuthorityError)?.code == .csrInvalid)
        }
        // Key A's CSR carrying key B's signature: no proof of possession.
        let keyA = try TestKey()
        let keyB = try TestKey()
        let genuine = try CertificateSigningRequest(derEncoded: try keyA.csr())
        let forged = try CertificateSigningRequest(
            version: genuine.version, subject: genuine.subject, publicKey: keyB.privateKey.publicKey,
            attributes: genuine.attributes, signatureAlgorithm: genuine.signatureAlgorithm, signature: genuine.signature)
        let forgedDER = try forged.serializeAsPEM().derBytes
        let error = await caught {
            try await authority.issueCertificate(token: receipt.token, reference: receipt.reference, authorization: code, csrDER: forgedDER)
        }
        #expect((error as? AuthorityError)?.code == .csrInvalid)
        #expect("\(error.map { "\($0)" } ?? "")".contains("signature"))

        let record = try await authority.record(for: receipt.token)
        #expect(record.status == .approved && record.wrongReferencesInARow == 0)
    }
}

extension TestKey.Kind: CustomTestStringConvertible {
    var testDescription: String { self == .p256 ? "P-256" : "RSA-2048" }
}
