import CMP
import Crypto
import Foundation
import ParapheShared
import SwiftASN1
import Testing
import X509

/// Against OpenSSL 3's `openssl cmp`: its HTTP mock server (`-port 0`) and its client (`-use_mock_srv -reqout`).
@Suite("Interoperation with openssl cmp", .serialized)
struct InteropTests {
    static let reference = Array("123456789".utf8)
    static let secret = Array("pass-phrase".utf8)

    static func server(_ fixture: PKIFixture, certificate: String, _ extra: [String] = []) throws -> MockServer {
        try MockServer(
            in: fixture.scratch,
            ["-srv_ref", "mock", "-srv_secret", "pass:pass-phrase", "-rsp_cert", certificate, "-rsp_capubs", "ca.pem"] + extra)
    }

    static func bodies(_ messages: [[UInt8]]) throws -> [String] { try messages.map { try PKIMessage(derEncoded: $0).body.name } }

    static func enroll(
        _ body: CMPClientTransaction.RequestKind, server: MockServer, secret: [UInt8] = secret, implicitConfirm: Bool = false,
        exchanges: Exchanges
    ) async throws -> CMPClientTransaction.EnrollmentResult {
        try await CMPClientTransaction.enroll(
            body: body, reference: reference, secret: secret, implicitConfirm: implicitConfirm, random: randomBytes, now: Date(),
            transport: HTTP.transport(server.url, recording: exchanges))
    }

    /// A P-256 key made with swift-crypto, the openssl-issued certificate for it, and a signed ir request.
    static func swiftKeyRequest(_ fixture: PKIFixture) throws -> (CertReqMsg, [UInt8]) {
        let key = P256.Signing.PrivateKey()
        try fixture.scratch.write("swift.key", key.pemRepresentation)
        try fixture.issue(key: "swift.key", name: "swift")
        let request = try CertReqMsg.signed(
            subject: try derBytes(try DistinguishedName { CommonName("swift") }),
            publicKeyInfoDER: try CertTemplate.publicKeyInfoDER(Certificate.PublicKey(key.publicKey))
        ) { message in
            (try AlgorithmIdentifier.ecdsaWithSHA256.derEncoded(), Array(try key.signature(for: message).derRepresentation))
        }
        return (request, try fixture.scratch.certificateDER("swift.pem"))
    }

    @Test("p10cr: the mock server's certificate comes back and certConf/pkiConf complete the transaction")
    func p10cr() async throws {
        let fixture = try PKIFixture()
        let server = try Self.server(fixture, certificate: "leaf.pem", ["-rsp_extracerts", "ca.pem"])
        defer { server.stop() }
        let exchanges = Exchanges()
        let result = try await Self.enroll(.p10cr(try fixture.csrDER("leaf")), server: server, exchanges: exchanges)
        let ca = try fixture.scratch.certificateDER("ca.pem")
        #expect(result.certificateDER == (try fixture.scratch.certificateDER("leaf.pem")))
        #expect(result.extraCerts == [ca])
        #expect(result.status == .accepted)
        #expect(!result.implicitlyConfirmed)
        #expect(try Self.bodies(await exchanges.requests) == ["p10cr", "certConf"])
        #expect(try Self.bodies(await exchanges.responses) == ["cp", "pkiconf"])

        let certConf = try PKIMessage(derEncoded: await exchanges.requests[1])
        guard case .certConf(let statuses) = certConf.body else { throw TestFailure("no certConf") }
        #expect(statuses.map(\.certReqId) == [-1])
        #expect(statuses[0].matches(certificateDER: result.certificateDER))
        let pkiConf = try PKIMessage(derEncoded: await exchanges.responses[1])
        #expect(pkiConf.header.recipNonce == certConf.header.senderNonce)
        try pkiConf.verifyProtection(secret: Self.secret, maxIterations: 1000)
        #expect(pkiConf.header.senderKID == Array("mock".utf8))
    }

    @Test("ir with a swift-crypto key: the mock server checks our PBM and POP, we get its certificate and caPubs")
    func ir() async throws {
        let fixture = try PKIFixture()
        let (request, certificate) = try Self.swiftKeyRequest(fixture)
        let server = try Self.server(fixture, certificate: "swift.pem")
        defer { server.stop() }
        let exchanges = Exchanges()
        let result = try await Self.enroll(.ir(request), server: server, exchanges: exchanges)
        #expect(result.certificateDER == certificate)
        #expect(result.caPubs == [try fixture.scratch.certificateDER("ca.pem")])
        #expect(try Self.bodies(await exchanges.requests) == ["ir", "certConf"])
        #expect(try Self.bodies(await exchanges.responses) == ["ip", "pkiconf"])

        let ir = try PKIMessage(derEncoded: await exchanges.requests[0])
        #expect(ir.header.pvno == 2)
        #expect(ir.header.sender == PKIHeader.nullDN && ir.header.recipient == PKIHeader.nullDN)
        #expect(ir.header.senderKID == Self.reference)
        #expect(ir.header.transactionID?.count == 16 && ir.header.senderNonce?.count == 16)
        #expect(ir.passwordBasedMAC?.iterationCount == CMPClientTransaction.iterations && ir.passwordBasedMAC?.salt.count == 16)
        let ip = try PKIMessage(derEncoded: await exchanges.responses[0])
        #expect(ip.header.transactionID == ir.header.transactionID)
        #expect(ip.header.pvno == 2, "the server answers with the request's pvno")
        let certConf = try PKIMessage(derEncoded: await exchanges.requests[1])
        #expect(certConf.header.transactionID == ir.header.transactionID)
        #expect(certConf.header.recipNonce == ip.header.senderNonce)
        #expect(certConf.header.senderNonce != ir.header.senderNonce)
        // One PBM key for the transaction: the certConf carries the ir's parameters (openssl checked both MACs).
        #expect(certConf.passwordBasedMAC == ir.passwordBasedMAC)
    }

    @Test("the mock server checks our POP: a changed signature byte gets badPOP")
    func tamperedPOP() async throws {
        let fixture = try PKIFixture()
        var (request, _) = try Self.swiftKeyRequest(fixture)
        guard case .signature(var pop) = request.popo else { throw TestFailure("no signature POP") }
        pop.signature[10] ^= 0x01
        request.popo = .signature(pop)
        let server = try Self.server(fixture, certificate: "swift.pem")
        defer { server.stop() }
        let exchanges = Exchanges()
        do {
            _ = try await Self.enroll(.ir(request), server: server, exchanges: exchanges)
            Issue.record("a tampered POP was accepted")
        } catch let error as CMPError {
            guard case .rejected(let status) = error.code else { throw error }
            #expect(status.failInfo?.contains(.badPOP) == true, "\(status)")
        }
        #expect(try Self.bodies(await exchanges.requests) == ["ir"])
    }

    @Test("a wrong secret is refused: an error is thrown and no certificate returned")
    func wrongSecret() async throws {
        let fixture = try PKIFixture()
        let server = try Self.server(fixture, certificate: "leaf.pem")
        defer { server.stop() }
        let exchanges = Exchanges()
        var result: CMPClientTransaction.EnrollmentResult?
        do {
            result = try await Self.enroll(.p10cr(try fixture.csrDER("leaf")), server: server, secret: Array("wrong".utf8), exchanges: exchanges)
            Issue.record("enrolment succeeded with a wrong secret")
        } catch let error as CMPError {
            guard case .rejected(let status) = error.code else { throw error }
            #expect(status.status == .rejection)
            #expect(error.reason.contains("unauthenticated"), "the error message was MACed with the server's secret: \(error.reason)")
        }
        #expect(result == nil)
        #expect(try Self.bodies(await exchanges.responses) == ["error"])
    }

    @Test("a rejection status is thrown with its failure bits and text, and no certConf is sent")
    func rejection() async throws {
        let fixture = try PKIFixture()
        let server = try Self.server(fixture, certificate: "leaf.pem", ["-pkistatus", "2", "-failurebits", "33554944", "-statusstring", "refusé"])
        defer { server.stop() }
        let exchanges = Exchanges()
        do {
            _ = try await Self.enroll(.p10cr(try fixture.csrDER("leaf")), server: server, exchanges: exchanges)
            Issue.record("a rejection was taken for a certificate")
        } catch let error as CMPError {
            #expect(error.code == .rejected(PKIStatusInfo(status: .rejection, statusString: ["refusé"], failInfo: [.badPOP, .systemFailure])))
        }
        #expect(try Self.bodies(await exchanges.requests) == ["p10cr"])
        // openssl's named-bit BIT STRING and ours are the same bytes: the field-by-field encoding is identical.
        let response = try PKIMessage(derEncoded: await exchanges.responses[0])
        #expect(try CodecTests.reencoded(response) == (await exchanges.responses[0]))
    }

    @Test("an error body from the server is thrown as a rejection")
    func errorBody() async throws {
        let fixture = try PKIFixture()
        let server = try Self.server(fixture, certificate: "leaf.pem", ["-send_error"])
        defer { server.stop() }
        let exchanges = Exchanges()
        do {
            _ = try await Self.enroll(.p10cr(try fixture.csrDER("leaf")), server: server, exchanges: exchanges)
            Issue.record("an error body was taken for a certificate")
        } catch let error as CMPError {
            guard case .rejected(let status) = error.code else { throw error }
            #expect(status.status == .rejection)
            #expect(!error.reason.contains("unauthenticated"))
        }
    }

    @Test("implicit confirmation: granted means one exchange; not granted means certConf all the same")
    func implicitConfirm() async throws {
        let fixture = try PKIFixture()
        let granting = try Self.server(fixture, certificate: "leaf.pem", ["-grant_implicitconf"])
        defer { granting.stop() }
        let exchanges = Exchanges()
        let result = try await Self.enroll(.p10cr(try fixture.csrDER("leaf")), server: granting, implicitConfirm: true, exchanges: exchanges)
        #expect(result.implicitlyConfirmed)
        #expect(try Self.bodies(await exchanges.requests) == ["p10cr"])
        #expect(try PKIMessage(derEncoded: await exchanges.requests[0]).header.hasImplicitConfirm)
        #expect(try PKIMessage(derEncoded: await exchanges.responses[0]).header.hasImplicitConfirm)
        granting.stop()

        let refusing = try Self.server(fixture, certificate: "leaf.pem")
        defer { refusing.stop() }
        let second = Exchanges()
        let confirmed = try await Self.enroll(.p10cr(try fixture.csrDER("leaf")), server: refusing, implicitConfirm: true, exchanges: second)
        #expect(!confirmed.implicitlyConfirmed)
        #expect(try Self.bodies(await second.requests) == ["p10cr", "certConf"])
    }

    @Test("the mock server checks certConf: a wrong certHash gets an error instead of pkiConf")
    func certConfIsChecked() async throws {
        let fixture = try PKIFixture()
        let (request, _) = try Self.swiftKeyRequest(fixture)
        let server = try Self.server(fixture, certificate: "swift.pem")
        defer { server.stop() }
        let transport = HTTP.transport(server.url, recording: Exchanges())
        let transactionID = randomBytes(16)
        var ir = PKIMessage(
            header: PKIHeader(messageTime: Date(), senderKID: Self.reference, transactionID: transactionID, senderNonce: randomBytes(16)),
            body: .ir([request]))
        try ir.protect(with: PasswordBasedMACKey(secret: Self.secret, parameters: .make(salt: randomBytes(16), iterations: 1000)))
        let ip = try PKIMessage(derEncoded: try await transport(try ir.serialized()))
        try ip.verifyProtection(secret: Self.secret, maxIterations: 1000)
        guard case .ip(let rep) = ip.body, let certificate = rep.response.first?.certificate else { throw TestFailure("no certificate") }
        var hash = try CertStatus.certHash(of: certificate)
        hash[0] ^= 1
        var certConf = PKIMessage(
            header: PKIHeader(
                messageTime: Date(), senderKID: Self.reference, transactionID: transactionID, senderNonce: randomBytes(16),
                recipNonce: ip.header.senderNonce),
            body: .certConf([CertStatus(certHash: hash, certReqId: 0, statusInfo: .accepted)]))
        try certConf.protect(with: PasswordBasedMACKey(secret: Self.secret, parameters: .make(salt: randomBytes(16), iterations: 1000)))
        let answer = try PKIMessage(derEncoded: try await transport(try certConf.serialized()))
        guard case .error(let content) = answer.body else { throw TestFailure("expected an error, got \(answer.body.name)") }
        #expect(content.pkiStatusInfo.status == .rejection)
    }

    @Test("openssl's client ir (captured with -reqout): PBM, senderKID and POP check out server-side")
    func opensslClientRequest() throws {
        let fixture = try PKIFixture()
        try fixture.scratch.mustOpenssl([
            "cmp", "-cmd", "ir", "-use_mock_srv", "-ref", "123456789", "-secret", "pass:ABC", "-srv_ref", "srv", "-srv_secret",
            "pass:ABC", "-rsp_cert", "leaf.pem", "-newkey", "leaf.key", "-subject", "/CN=x", "-reqout", "ir.der,certConf.der",
            "-certout", "out.pem",
        ])
        let message = try PKIMessage(derEncoded: try fixture.scratch.read("ir.der"))
        #expect(message.header.senderKID == Array("123456789".utf8))
        #expect(message.header.pvno == 2)
        try message.verifyProtection(secret: Array("ABC".utf8), maxIterations: 100_000)
        #expect(ProtectionTests.code { try message.verifyProtection(secret: Array("ABCD".utf8), maxIterations: 100_000) } == .badMAC)
        guard case .ir(let requests) = message.body else { throw TestFailure("not an ir") }
        try requests[0].verifyProofOfPossession()
        guard case .signature(var pop) = requests[0].popo else { throw TestFailure("no signature POP") }
        pop.signature[pop.signature.count / 2] ^= 0x01
        var tampered = requests[0]
        tampered.popo = .signature(pop)
        #expect(CRMFTests.popCode(tampered) == .badProofOfPossession)
        #expect(try message.serialized() == (try fixture.scratch.read("ir.der")))
    }

    @Test(
        "certHash follows the certificate's signature: SHA-384 for ecdsa-with-SHA384, SHA-512 for Ed25519, as openssl",
        arguments: ["P-384:sha384", "ed25519", "P-256:sha256"])
    func certHashLikeOpenSSL(_ kind: String) throws {
        let scratch = try Scratch()
        let parts = kind.split(separator: ":").map(String.init)
        if parts[0] == "ed25519" {
            try scratch.mustOpenssl(["genpkey", "-algorithm", "ed25519", "-out", "ca.key"])
            try scratch.mustOpenssl(["req", "-x509", "-key", "ca.key", "-out", "ca.pem", "-subj", "/CN=CA", "-days", "3"])
        } else {
            try scratch.mustOpenssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:\(parts[0])", "-nodes", "-keyout", "ca.key", "-out",
                "ca.pem", "-subj", "/CN=CA", "-days", "3", "-\(parts[1])",
            ])
        }
        try scratch.mustOpenssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "leaf.key"])
        try scratch.mustOpenssl(["req", "-new", "-key", "leaf.key", "-subj", "/CN=leaf", "-out", "leaf.csr"])
        var sign = ["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "7", "-out", "leaf.pem"]
        if parts.count > 1 { sign.append("-\(parts[1])") }
        try scratch.mustOpenssl(sign)
        try scratch.mustOpenssl([
            "cmp", "-cmd", "p10cr", "-use_mock_srv", "-ref", "1", "-secret", "pass:x", "-srv_ref", "s", "-srv_secret", "pass:x",
            "-rsp_cert", "leaf.pem", "-csr", "leaf.csr", "-reqout", "p10cr.der,certConf.der", "-certout", "out.pem",
        ])
        guard case .certConf(let statuses) = try PKIMessage(derEncoded: try scratch.read("certConf.der")).body else {
            throw TestFailure("no certConf")
        }
        let certificate = try scratch.certificateDER("leaf.pem")
        let expected = try CertStatus.certHash(of: certificate)
        #expect(statuses[0].certHash == expected)
        #expect(statuses[0].hashAlg == nil)
        #expect(expected.count == (parts[0] == "P-256" ? 32 : parts[0] == "P-384" ? 48 : 64))
    }
}
