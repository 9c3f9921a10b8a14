import Foundation
import ParapheShared
import SwiftASN1
import X509

/// A certificate holder's exchanges, signed with its current key: `kur` (a new certificate for a new
/// key, then certConf) and `rr` (revoke).
///
/// The answers must be signed by a CMP responder whose certificate the trusted CA issued (or by the
/// CA itself).
public enum CMPHolderTransaction {
    /// Who signs: the current certificate (sent first in extraCerts) and its key.
    public struct Signer: Sendable {
        public var certificateDER: [UInt8]
        public var algorithm: AlgorithmIdentifier
        public var sign: @Sendable ([UInt8]) throws -> [UInt8]

        public init(certificateDER: [UInt8], algorithm: AlgorithmIdentifier, sign: @escaping @Sendable ([UInt8]) throws -> [UInt8]) {
            self.certificateDER = certificateDER
            self.algorithm = algorithm
            self.sign = sign
        }
    }

    /// `kur` for `request` (a CertReqMsg for the new key, with its proof of possession), then `certConf`.
    public static func update(
        _ request: CertReqMsg, signer: Signer, trustedCA: [UInt8], random: (Int) -> [UInt8], now: Date,
        transport: @Sendable ([UInt8]) async throws -> [UInt8]
    ) async throws -> CMPClientTransaction.EnrollmentResult {
        let transactionID = random(16)
        var header = try Self.header(signer, transactionID: transactionID, nonce: random(16), now: now)
        let answer = try await exchange(PKIMessage(header: header, body: .kur([request])), signer, trustedCA, now, transport)
        guard case .kup(let rep) = answer.body, let response = rep.response.first(where: { $0.certReqId == request.certReq.certReqId }) else {
            throw CMPError(.unexpectedResponse, "unexpected \(answer.body.name) answer to kur")
        }
        guard response.status.isPositive, let certificate = response.certificate else {
            throw CMPError(.rejected(response.status), "the update was refused")
        }
        guard let issued = try? Certificate(derEncoded: certificate), let requested = request.certReq.certTemplate.publicKey,
            let key = try? Certificate.PublicKey(derEncoded: requested), issued.publicKey == key
        else { throw CMPError(.unexpectedResponse, "the certificate is not for the new key") }
        let result = CMPClientTransaction.EnrollmentResult(
            certificateDER: certificate, caPubs: rep.caPubs, extraCerts: answer.extraCerts, status: response.status, implicitlyConfirmed: false)
        header.senderNonce = random(16)
        header.recipNonce = answer.header.senderNonce
        let status = CertStatus(certHash: try CertStatus.certHash(of: certificate), certReqId: response.certReqId, statusInfo: .accepted)
        let confirmed = try await exchange(PKIMessage(header: header, body: .certConf([status])), signer, trustedCA, now, transport)
        guard case .pkiConf = confirmed.body else { throw CMPError(.unexpectedResponse, "unexpected \(confirmed.body.name) answer to certConf") }
        return result
    }

    /// A `certConf` for the signer's own certificate, signed with it: "this certificate is in a profile
    /// its holder opened" (the authority may then retire what it replaces).
    public static func confirm(
        signer: Signer, trustedCA: [UInt8], random: (Int) -> [UInt8], now: Date, transport: @Sendable ([UInt8]) async throws -> [UInt8]
    ) async throws {
        let status = CertStatus(certHash: try CertStatus.certHash(of: signer.certificateDER), certReqId: 0, statusInfo: .accepted)
        let header = try Self.header(signer, transactionID: random(16), nonce: random(16), now: now)
        let answer = try await exchange(PKIMessage(header: header, body: .certConf([status])), signer, trustedCA, now, transport)
        guard case .pkiConf = answer.body else { throw CMPError(.unexpectedResponse, "unexpected \(answer.body.name) answer to certConf") }
    }

    /// `rr` for the signer's own certificate with an RFC 5280 reason code.
    public static func revoke(
        reasonCode: Int, signer: Signer, trustedCA: [UInt8], random: (Int) -> [UInt8], now: Date,
        transport: @Sendable ([UInt8]) async throws -> [UInt8]
    ) async throws {
        let certificate = try Certificate(derEncoded: signer.certificateDER)
        let details = try RevDetails(
            serialNumber: Array(certificate.serialNumber.bytes), issuer: try derBytes(certificate.issuer), reasonCode: reasonCode)
        let header = try Self.header(signer, transactionID: random(16), nonce: random(16), now: now)
        let answer = try await exchange(PKIMessage(header: header, body: .rr([details])), signer, trustedCA, now, transport)
        guard case .rp(let content) = answer.body, let status = content.status.first else {
            throw CMPError(.unexpectedResponse, "unexpected \(answer.body.name) answer to rr")
        }
        guard status.isPositive else { throw CMPError(.rejected(status), "the revocation was refused") }
    }

    static func header(_ signer: Signer, transactionID: [UInt8], nonce: [UInt8], now: Date) throws -> PKIHeader {
        let certificate = try Certificate(derEncoded: signer.certificateDER)
        return PKIHeader(
            sender: try PKIHeader.directoryName(certificate.subject), messageTime: now,
            senderKID: (try? certificate.extensions.subjectKeyIdentifier).flatMap { $0.map { Array($0.keyIdentifier) } },
            transactionID: transactionID, senderNonce: nonce)
    }

    /// Signs and sends `message`; checks the answer is for this transaction and signed by a responder
    /// the trusted CA certified.
    ///
    /// An `error` answer throws `.rejected` with its status.
    static func exchange(
        _ message: PKIMessage, _ signer: Signer, _ trustedCA: [UInt8], _ now: Date, _ transport: @Sendable ([UInt8]) async throws -> [UInt8]
    ) async throws -> PKIMessage {
        var request = message
        request.extraCerts = [signer.certificateDER]
        try request.protect(signatureAlgorithm: signer.algorithm, signingWith: signer.sign)
        let answer = try PKIMessage(derEncoded: try await transport(try request.serialized()))
        let authenticated = (try? verifyResponder(answer, trustedCA: trustedCA, at: now)) != nil
        if case .error(let content) = answer.body {
            var error = CMPError(
                .rejected(content.pkiStatusInfo),
                "the authority answered with an error: \(content.pkiStatusInfo.statusString.first ?? "no reason given")")
            error.errorDetails = content.errorDetails
            error.authenticated = authenticated
            throw error
        }
        try verifyResponder(answer, trustedCA: trustedCA, at: now)
        guard answer.header.transactionID == request.header.transactionID else {
            throw CMPError(.transactionMismatch, "the answer is for another transaction")
        }
        guard answer.header.recipNonce == request.header.senderNonce else {
            throw CMPError(.nonceMismatch, "the answer's recipNonce is not our senderNonce")
        }
        return answer
    }

    /// id-kp-cmcCA (RFC 6402, RFC 9483 §3.1): the extended key usage of a CMP responder's certificate.
    static let cmpResponderUsage = ExtendedKeyUsage.Usage(oid: [1, 3, 6, 1, 5, 5, 7, 3, 27])

    /// The answer's signer is the CA, or a certificate in extraCerts that the CA issued for a CMP responder
    /// (`id-kp-cmcCA`) and that is valid at `now` — not just any certificate of the CA: every subscriber holds one.
    static func verifyResponder(_ answer: PKIMessage, trustedCA: [UInt8], at now: Date) throws {
        let ca = try Certificate(derEncoded: trustedCA)
        for der in answer.extraCerts {
            guard let candidate = try? Certificate(derEncoded: der) else { continue }
            let responder = ((try? candidate.extensions.extendedKeyUsage) ?? nil)?.contains(Self.cmpResponderUsage) ?? false
            let certified =
                der == trustedCA
                || (responder && candidate.issuer == ca.subject && ca.publicKey.isValidSignature(candidate.signature, for: candidate)
                    && candidate.notValidBefore <= now && now <= candidate.notValidAfter)
            guard certified else { continue }
            var serializer = DER.Serializer()
            try serializer.serialize(candidate.publicKey)
            if (try? answer.verifySignatureProtection(publicKeyInfoDER: serializer.serializedBytes)) != nil { return }
        }
        throw CMPError(.badSignature, "the answer is not signed by the authority")
    }
}
