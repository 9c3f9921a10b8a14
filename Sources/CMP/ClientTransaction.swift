import Foundation
import X509

/// A client-side enrolment (ir/cr/p10cr, then certConf unless implicitly confirmed) protected with a shared secret.
public enum CMPClientTransaction {
    /// The request to send.
    public enum RequestKind: Sendable {
        /// A PKCS#10 CertificationRequest (DER); the answer is a cp with certReqId -1.
        case p10cr([UInt8])
        /// An initialization request; the answer is an ip.
        case ir(CertReqMsg)
        /// A certification request; the answer is a cp.
        case cr(CertReqMsg)
    }

    /// What a successful enrolment returns.
    public struct EnrollmentResult: Sendable, Hashable {
        public var certificateDER: [UInt8]
        public var caPubs: [[UInt8]]
        public var extraCerts: [[UInt8]]
        /// The response's status (accepted or grantedWithMods).
        public var status: PKIStatusInfo
        /// True when the server granted implicit confirmation (no certConf was sent).
        public var implicitlyConfirmed: Bool
    }

    /// The PBM iteration count of the requests this client sends: 1,000, the floor RFC 4211 §4.4 says "many
    /// people suggest" (OpenSSL's client uses 500).
    ///
    /// The count only slows down guessing the secret from a captured message, and the secret is an authorization
    /// code of 80 random bits, single-use, dead after 15 days, sent over TLS: guessing it costs 2^79 × 1,000
    /// hashes on average whatever the count. A password-like secret would need more; this one does not, and each
    /// message the authority answers costs it one derivation.
    public static let iterations = 1_000
    /// The highest PBM iteration count accepted in responses.
    public static let defaultMaxIterations = 100_000

    /// Runs one enrolment: sends the request over `transport` (which POSTs `application/pkixcmp` and returns the
    /// response body), checks the answer (same secret, transactionID and nonces) and confirms the certificate.
    ///
    /// A refusal throws `CMPError` with code `.rejected(status)`; no certificate is returned then.
    public static func enroll(
        body: RequestKind, reference: [UInt8], secret: [UInt8], sender: [UInt8] = PKIHeader.nullDN,
        generalInfo: [InfoTypeAndValue] = [], implicitConfirm: Bool,
        random: (Int) -> [UInt8], now: Date, maxIterations: Int = defaultMaxIterations,
        transport: @Sendable ([UInt8]) async throws -> [UInt8]
    ) async throws -> EnrollmentResult {
        func fresh(_ count: Int) throws(CMPError) -> [UInt8] {
            let bytes = random(count)
            guard bytes.count == count else { throw CMPError(.invalidArgument, "the random source returned \(bytes.count) bytes") }
            return bytes
        }
        let transactionID = try fresh(16)
        var header = PKIHeader(
            sender: sender, messageTime: now, senderKID: reference, transactionID: transactionID, senderNonce: try fresh(16),
            generalInfo: generalInfo + (implicitConfirm ? [.implicitConfirm] : []))

        let requestBody: PKIBody
        let expectedId: Int
        let requestedKey: Certificate.PublicKey?
        switch body {
        case .p10cr(let csr):
            (requestBody, expectedId) = (.p10cr(csr), -1)
            requestedKey = (try? CertificateSigningRequest(derEncoded: csr))?.publicKey
        case .ir(let message), .cr(let message):
            if case .ir = body { requestBody = .ir([message]) } else { requestBody = .cr([message]) }
            expectedId = message.certReq.certReqId
            requestedKey = message.certReq.certTemplate.publicKey.flatMap { try? Certificate.PublicKey(derEncoded: $0) }
        }
        // One salt, so one derivation, for the whole transaction (see PasswordBasedMACKey); the authority's
        // answers reuse it too when they carry the same parameters.
        let key = try PasswordBasedMACKey(secret: secret, parameters: .make(salt: try fresh(16), iterations: iterations))
        var request = PKIMessage(header: header, body: requestBody)
        try request.protect(with: key)
        let response = try PKIMessage(derEncoded: try await transport(try request.serialized()))
        try check(response, secret: secret, known: key, transactionID: transactionID, nonce: header.senderNonce, maxIterations: maxIterations)

        let repMessage: CertRepMessage
        switch (body, response.body) {
        case (.ir, .ip(let rep)), (.cr, .cp(let rep)), (.p10cr, .cp(let rep)): repMessage = rep
        default: throw CMPError(.unexpectedResponse, "unexpected \(response.body.name) response")
        }
        guard let certResponse = repMessage.response.first(where: { $0.certReqId == expectedId }) else {
            throw CMPError(.unexpectedResponse, "no response for certReqId \(expectedId)")
        }
        guard certResponse.status.isPositive else {
            if certResponse.status.status == .waiting { throw CMPError(.unexpectedResponse, "polling is not supported") }
            throw CMPError(.rejected(certResponse.status), "the request was rejected")
        }
        guard let certificate = certResponse.certificate else {
            throw CMPError(.unexpectedResponse, "the response carries no certificate")
        }
        try checkPublicKey(of: certificate, requested: requestedKey)
        let result = EnrollmentResult(
            certificateDER: certificate, caPubs: repMessage.caPubs, extraCerts: response.extraCerts, status: certResponse.status,
            implicitlyConfirmed: implicitConfirm && response.header.hasImplicitConfirm)
        if result.implicitlyConfirmed { return result }

        guard let serverNonce = response.header.senderNonce else {
            throw CMPError(.nonceMismatch, "the response has no senderNonce")
        }
        header.senderNonce = try fresh(16)
        header.recipNonce = serverNonce
        header.generalInfo = []
        let status = CertStatus(certHash: try CertStatus.certHash(of: certificate), certReqId: certResponse.certReqId, statusInfo: .accepted)
        var confirmation = PKIMessage(header: header, body: .certConf([status]))
        try confirmation.protect(with: key)
        let answer = try PKIMessage(derEncoded: try await transport(try confirmation.serialized()))
        try check(answer, secret: secret, known: key, transactionID: transactionID, nonce: header.senderNonce, maxIterations: maxIterations)
        guard case .pkiConf = answer.body else {
            throw CMPError(.unexpectedResponse, "unexpected \(answer.body.name) answer to certConf")
        }
        return result
    }

    /// Checks a response: an `error` body throws `.rejected` (protected or not); anything else must carry a valid
    /// PBM with `secret`, our transactionID and our nonce as recipNonce.
    static func check(
        _ response: PKIMessage, secret: [UInt8], known: PasswordBasedMACKey, transactionID: [UInt8], nonce: [UInt8]?, maxIterations: Int
    ) throws(CMPError) {
        if case .error(let content) = response.body {
            let authenticated = (try? response.verifyProtection(secret: secret, maxIterations: maxIterations, reusing: known)) != nil
            var error = CMPError(
                .rejected(content.pkiStatusInfo),
                "the server answered with an \(authenticated ? "" : "unauthenticated ")error: \(content.pkiStatusInfo.statusString.first ?? "no reason given")"
            )
            error.errorDetails = content.errorDetails
            error.authenticated = authenticated
            throw error
        }
        try response.verifyProtection(secret: secret, maxIterations: maxIterations, reusing: known)
        guard response.header.transactionID == transactionID else {
            throw CMPError(.transactionMismatch, "the response is for another transaction")
        }
        guard response.header.recipNonce == nonce else {
            throw CMPError(.nonceMismatch, "the response's recipNonce is not our senderNonce")
        }
    }

    private static func checkPublicKey(of certificateDER: [UInt8], requested: Certificate.PublicKey?) throws(CMPError) {
        let certificate: Certificate
        do { certificate = try Certificate(derEncoded: certificateDER) } catch {
            throw CMPError.malformed("the issued certificate cannot be parsed")
        }
        guard let requested else { return }
        guard certificate.publicKey == requested else {
            throw CMPError(.unexpectedResponse, "the issued certificate is not for the requested key")
        }
    }
}
