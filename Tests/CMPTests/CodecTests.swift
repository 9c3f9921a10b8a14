import CMP
import Crypto
import Foundation
import ParapheShared
import SwiftASN1
import Testing
import X509

@Suite("Encoding and decoding")
struct CodecTests {
    /// Re-encodes a decoded message from its fields alone (no kept bytes).
    static func reencoded(_ message: PKIMessage) throws -> [UInt8] {
        try PKIMessage(header: message.header, body: message.body, protection: message.protection, extraCerts: message.extraCerts)
            .serialized()
    }

    @Test("the openssl ir decodes field by field and re-encodes to the same DER")
    func opensslIR() throws {
        let message = try PKIMessage(derEncoded: OpenSSLFixture.ir)
        let header = message.header
        #expect(header.pvno == 2)
        #expect(PKIHeader.distinguishedName(of: header.sender) == (try DistinguishedName { CommonName("x") }))
        #expect(header.recipient == PKIHeader.nullDN)
        #expect(header.messageTime == ISO8601DateFormatter().date(from: "2026-11-29T18:35:57Z"))
        #expect(header.senderKID == Array("123456789".utf8))
        #expect(header.transactionID?.hex == "2157d7d752bb036feca2507acaf1af2d")
        #expect(header.senderNonce?.hex == "1c77ab61b8cef96a89dd3ac106a71ab1")
        #expect(header.recipNonce == nil)
        #expect(header.generalInfo.isEmpty)
        #expect(message.protectionKind == .passwordBasedMAC)
        let pbm = try #require(message.passwordBasedMAC)
        #expect(pbm.salt.hex == "0507848996e6de9f20dd518d5a31e8c7")
        #expect(pbm.owf == AlgorithmIdentifier(algorithm: [2, 16, 840, 1, 101, 3, 4, 2, 1]))
        #expect(pbm.iterationCount == 500)
        #expect(pbm.mac == AlgorithmIdentifier(algorithm: [1, 3, 6, 1, 5, 5, 8, 1, 2]))
        #expect(message.protection?.count == 20)
        #expect(message.extraCerts.isEmpty)

        guard case .ir(let requests) = message.body else {
            Issue.record("not an ir: \(message.body.name)")
            return
        }
        #expect(requests.count == 1)
        let request = requests[0]
        #expect(request.certReq.certReqId == 0)
        #expect(request.certReq.certTemplate.subjectName == (try DistinguishedName { CommonName("x") }))
        let key = try Certificate.PublicKey(derEncoded: try #require(request.certReq.certTemplate.publicKey))
        let issued = try Certificate(derEncoded: try #require(try Self.ipCertificate()))
        #expect(key == issued.publicKey, "the template key is the one openssl's leaf certificate was issued for")
        guard case .signature(let pop) = request.popo else {
            Issue.record("no signature POP")
            return
        }
        #expect(pop.algorithmIdentifier == .ecdsaWithSHA256)
        #expect(pop.poposkInput == nil)

        #expect(try message.serialized() == OpenSSLFixture.ir)
        #expect(try Self.reencoded(message) == OpenSSLFixture.ir, "the field-by-field encoding is openssl's DER")
    }

    static func ipCertificate() throws -> [UInt8]? {
        guard case .ip(let rep) = try PKIMessage(derEncoded: OpenSSLFixture.ip).body else { return nil }
        return rep.response.first?.certificate
    }

    @Test("the openssl ip, certConf and pkiConf decode and re-encode to the same DER")
    func opensslResponses() throws {
        let ip = try PKIMessage(derEncoded: OpenSSLFixture.ip)
        #expect(ip.header.pvno == 2)
        #expect(ip.header.sender == PKIHeader.nullDN)
        #expect(ip.header.senderKID == Array("srv".utf8))
        #expect(ip.header.recipNonce?.hex == "1c77ab61b8cef96a89dd3ac106a71ab1", "the ip answers the ir's senderNonce")
        guard case .ip(let rep) = ip.body else {
            Issue.record("not an ip")
            return
        }
        #expect(rep.caPubs.count == 1)
        let ca = try Certificate(derEncoded: rep.caPubs[0])
        #expect(ca.subject == (try DistinguishedName { CommonName("TestCA") }))
        #expect(rep.response.count == 1)
        #expect(rep.response[0].certReqId == 0)
        #expect(rep.response[0].status == .accepted)
        let leaf = try Certificate(derEncoded: try #require(rep.response[0].certificate))
        #expect(leaf.subject == (try DistinguishedName { CommonName("leaf") }))
        #expect(try ip.serialized() == OpenSSLFixture.ip)
        #expect(try Self.reencoded(ip) == OpenSSLFixture.ip)

        let certConf = try PKIMessage(derEncoded: OpenSSLFixture.certConf)
        guard case .certConf(let statuses) = certConf.body else {
            Issue.record("not a certConf")
            return
        }
        #expect(statuses.count == 1)
        #expect(statuses[0].certReqId == 0)
        #expect(statuses[0].statusInfo == .accepted)
        #expect(statuses[0].hashAlg == nil)
        let certificate = try #require(rep.response[0].certificate)
        #expect(statuses[0].certHash == Array(SHA256.hash(data: certificate)))
        #expect(try CertStatus.certHash(of: certificate) == statuses[0].certHash)
        #expect(statuses[0].matches(certificateDER: certificate))
        #expect(!statuses[0].matches(certificateDER: rep.caPubs[0]))
        #expect(certConf.header.recipNonce == ip.header.senderNonce)
        #expect(try Self.reencoded(certConf) == OpenSSLFixture.certConf)

        let pkiConf = try PKIMessage(derEncoded: OpenSSLFixture.pkiConf)
        #expect(pkiConf.body == .pkiConf)
        #expect(pkiConf.header.recipNonce == certConf.header.senderNonce)
        #expect(try Self.reencoded(pkiConf) == OpenSSLFixture.pkiConf)
    }

    @Test("a changed header is encoded from its fields, not from the received bytes")
    func editedHeaderIsReencoded() throws {
        var message = try PKIMessage(derEncoded: OpenSSLFixture.ir)
        message.header.senderKID = Array("987654321".utf8)
        let bytes = try message.serialized()
        #expect(bytes != OpenSSLFixture.ir)
        #expect(try PKIMessage(derEncoded: bytes).header.senderKID == Array("987654321".utf8))
        #expect(throws: CMPError.self) { try message.verifyProtection(secret: OpenSSLFixture.secret, maxIterations: 1000) }
    }

    static func fullHeader() throws -> PKIHeader {
        PKIHeader(
            pvno: 3,
            sender: try PKIHeader.directoryName(
                try DistinguishedName {
                    CommonName("client")
                    OrganizationName("Org")
                }),
            recipient: try PKIHeader.directoryName(try DistinguishedName { CommonName("Test CA") }),
            messageTime: Date(timeIntervalSince1970: 1_800_000_000), protectionAlg: .ecdsaWithSHA256, senderKID: [1, 2, 3],
            recipKID: [4, 5], transactionID: Array(repeating: 7, count: 16), senderNonce: Array(repeating: 8, count: 16),
            recipNonce: Array(repeating: 9, count: 16), freeText: ["bonjour", "été"],
            generalInfo: [
                .implicitConfirm, InfoTypeAndValue(infoType: [1, 2, 3, 4], infoValue: [0x02, 0x01, 0x05]), InfoTypeAndValue(infoType: [1, 2, 3, 5]),
            ])
    }

    static func sampleRequest(id: Int = 0) throws -> CertReqMsg {
        let key = P256.Signing.PrivateKey()
        let spki = try CertTemplate.publicKeyInfoDER(Certificate.PublicKey(key.publicKey))
        let extensions = try Certificate.Extensions {
            SubjectAlternativeNames([.dnsName("example.org")])
            KeyUsage(digitalSignature: true)
        }
        return try CertReqMsg.signed(
            certReqId: id, subject: try derBytes(try DistinguishedName { CommonName("Jeanne") }), publicKeyInfoDER: spki,
            extensions: extensions
        ) { message in
            (try AlgorithmIdentifier.ecdsaWithSHA256.derEncoded(), Array(try key.signature(for: message).derRepresentation))
        }
    }

    static func sampleBodies() throws -> [PKIBody] {
        let certificate = try #require(try ipCertificate())
        let accepted = CertResponse(
            certReqId: 0, status: .accepted, certifiedKeyPair: CertifiedKeyPair(certOrEncCert: .certificate(certificate)),
            rspInfo: [1, 2])
        let refused = CertResponse(
            certReqId: 1, status: PKIStatusInfo(status: .rejection, statusString: ["no", "non"], failInfo: [.badPOP, .badCertTemplate]))
        let encrypted = CertResponse(
            certReqId: 2, status: PKIStatusInfo(status: .grantedWithMods),
            certifiedKeyPair: CertifiedKeyPair(
                certOrEncCert: .encryptedCert([0x30, 0x00]), privateKey: [0x30, 0x00], publicationInfo: [0x30, 0x03, 0x02, 0x01, 0x00]))
        let rep = CertRepMessage(caPubs: [certificate, certificate], response: [accepted, refused, encrypted])
        var raVerified = try sampleRequest(id: 3)
        raVerified.popo = .raVerified
        raVerified.regInfo = [0x30, 0x00]
        let revocation = try RevDetails(
            serialNumber: [0x12, 0x34], issuer: try derBytes(try DistinguishedName { CommonName("Test CA") }), reasonCode: 1)
        return [
            .ir([try sampleRequest(), raVerified]), .ip(rep), .cr([try sampleRequest()]), .cp(CertRepMessage(response: [refused])),
            .p10cr([0x30, 0x03, 0x02, 0x01, 0x00]), .kur([try sampleRequest()]), .kup(rep),
            .rr([revocation, RevDetails(certDetails: CertTemplate(serialNumber: [0x01]))]),
            .rp(RevRepContent(status: [.accepted, .rejection(.badCertId, "unknown")], revCerts: [0x30, 0x00])), .pkiConf,
            .error(ErrorMsgContent(pkiStatusInfo: .rejection(.badMessageCheck, "MAC"), errorCode: 7, errorDetails: ["details"])),
            .error(ErrorMsgContent(pkiStatusInfo: .rejection([]))),
            .certConf([
                CertStatus(certHash: [1, 2, 3], certReqId: -1),
                CertStatus(
                    certHash: [4], certReqId: 0, statusInfo: .accepted, hashAlg: AlgorithmIdentifier(algorithm: [2, 16, 840, 1, 101, 3, 4, 2, 1])),
            ]),
            .certConf([]), .other(tag: 21, der: [0x30, 0x00]),
        ]
    }

    @Test("every body type round-trips with a full header, protection and extraCerts")
    func roundTrips() throws {
        let certificate = try #require(try Self.ipCertificate())
        for body in try Self.sampleBodies() {
            let message = PKIMessage(header: try Self.fullHeader(), body: body, protection: [0xAA, 0xBB], extraCerts: [certificate])
            let bytes = try message.serialized()
            let decoded = try PKIMessage(derEncoded: bytes)
            #expect(decoded == message, "\(body.name)")
            #expect(decoded.body.tag == body.tag)
            #expect(try Self.reencoded(decoded) == bytes, "\(body.name)")
        }
    }

    @Test("the header keeps every field; the messageTime is whole seconds in GeneralizedTime")
    func headerFields() throws {
        let header = try Self.fullHeader()
        let decoded = try PKIMessage(derEncoded: try PKIMessage(header: header, body: .pkiConf).serialized()).header
        #expect(decoded == header)
        #expect(decoded.hasImplicitConfirm)
        #expect(PKIHeader.distinguishedName(of: decoded.recipient) == (try DistinguishedName { CommonName("Test CA") }))
        let bytes = try PKIMessage(header: PKIHeader(messageTime: Date(timeIntervalSince1970: 1_800_000_000.75)), body: .pkiConf).serialized()
        #expect(String(decoding: bytes, as: UTF8.self).contains("20270115080000Z"))
        #expect(try PKIMessage(derEncoded: bytes).header.messageTime == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(
            try PKIMessage(header: PKIHeader(), body: .pkiConf).serialized() == [
                0x30, 0x11, 0x30, 0x0b, 0x02, 0x01, 0x02, 0xa4, 0x02, 0x30, 0x00, 0xa4, 0x02, 0x30, 0x00, 0xb3, 0x02, 0x05, 0x00,
            ])
    }

    @Test("a reply header keeps pvno and transactionID, swaps the names and answers the nonce")
    func replyHeader() throws {
        let request = try PKIMessage(derEncoded: OpenSSLFixture.ir).header
        var three = request
        three.pvno = 3
        let reply = three.reply(senderNonce: [1, 2], messageTime: Date(timeIntervalSince1970: 0), senderKID: [9])
        #expect(reply.pvno == 3)
        #expect(request.reply(senderNonce: [1]).pvno == 2)
        #expect(reply.transactionID == request.transactionID)
        #expect(reply.sender == request.recipient && reply.recipient == request.sender)
        #expect(reply.recipNonce == request.senderNonce && reply.senderNonce == [1, 2])
        #expect(reply.recipKID == Array("123456789".utf8) && reply.senderKID == [9])
        #expect(reply.protectionAlg == nil && reply.generalInfo.isEmpty)
        #expect(PKIMessage.mediaType == "application/pkixcmp")
    }

    @Test("PKIFailureInfo is a DER named-bit BIT STRING (trailing zero bits dropped)")
    func failureInfoBits() throws {
        func encoded(_ info: PKIFailureInfo) throws -> [UInt8] {
            let der = try derBytes(PKIStatusInfo(status: .rejection, failInfo: info))
            return Array(der.dropFirst(5))  // SEQUENCE header and INTEGER 2
        }
        #expect(try encoded(.badAlg) == [0x03, 0x02, 0x07, 0x80])
        #expect(try encoded([.badMessageCheck, .badRequest]) == [0x03, 0x02, 0x05, 0x60])
        #expect(try encoded(.badPOP) == [0x03, 0x03, 0x06, 0x00, 0x40])
        #expect(try encoded(.incorrectData) == [0x03, 0x02, 0x00, 0x01])
        #expect(try encoded(.duplicateCertReq) == [0x03, 0x05, 0x05, 0x00, 0x00, 0x00, 0x20])
        #expect(try encoded([]) == [0x03, 0x01, 0x00])
        for bit in 0...26 {
            let info = PKIFailureInfo(bit: bit)
            let node = try DER.parse(try derBytes(PKIStatusInfo(status: .rejection, failInfo: info)))
            #expect(try PKIStatusInfo(derEncoded: node).failInfo == info)
        }
        #expect(PKIFailureInfo.systemFailure.rawValue == 1 << 25)
    }

    @Test("malformed input is refused with .malformed or .unsupportedVersion")
    func malformed() throws {
        #expect(throws: CMPError.self) { try PKIMessage(derEncoded: []) }
        #expect(throws: CMPError.self) { try PKIMessage(derEncoded: Array(OpenSSLFixture.ir.dropLast())) }
        var trailing = OpenSSLFixture.ir
        trailing.append(0)
        #expect(throws: CMPError.self) { try PKIMessage(derEncoded: trailing) }
        var version = OpenSSLFixture.ir
        #expect(version[9] == 0x02)
        version[9] = 0x01
        do {
            _ = try PKIMessage(derEncoded: version)
            Issue.record("pvno 1 was accepted")
        } catch {
            #expect(error.code == .unsupportedVersion)
        }
        var three = OpenSSLFixture.ir
        three[9] = 0x03
        #expect(try PKIMessage(derEncoded: three).header.pvno == 3)
        do {
            _ = try PKIMessage(derEncoded: [0x30, 0x03, 0x02, 0x01, 0x02])
            Issue.record("a message without a body was accepted")
        } catch {
            #expect(error.code == .malformed)
            #expect(error.description.hasPrefix("CMP: "))
        }
    }

    @Test("RevDetails carries serial number, issuer and reason code")
    func revocation() throws {
        let issuer = try derBytes(try DistinguishedName { CommonName("Test CA") })
        let details = try RevDetails(serialNumber: [0x00, 0x80], issuer: issuer, reasonCode: 4)
        let decoded = try RevDetails(derEncoded: try derBytes(details))
        #expect(decoded.certDetails.serialNumber == [0x00, 0x80])
        #expect(decoded.certDetails.issuerName == (try DistinguishedName { CommonName("Test CA") }))
        #expect(decoded.reasonCode == 4)
        #expect(try RevDetails(serialNumber: [1], issuer: issuer).reasonCode == nil)
        #expect(throws: CMPError.self) { try RevDetails(serialNumber: [1], issuer: issuer, reasonCode: 11) }
    }
}

func derBytes<T: DERSerializable>(_ value: T) throws -> [UInt8] {
    var coder = DER.Serializer()
    try coder.serialize(value)
    return coder.serializedBytes
}
