import Activation
import AuthorityInterface
import AuthorityWire
import CMP
import Crypto
import Foundation
import Logging
import ParapheShared
import RevocationList
import SwiftASN1
import X509

/// The authority's CMP endpoint (RFC 9810; over HTTP per RFC 6712 in the service, in process for the
/// embedded mode). Two ways in:
/// - **enrollment** (`ir`, `cr`, `p10cr`) protected by the password-based MAC keyed by the
///   authorization code, with the reference number as `senderKID`; answers MACed with the same code;
/// - **the holder of a certificate** (`kur` key update, `rr` revocation) protected by a signature with
///   a certificate this authority issued and has not revoked (sent first in `extraCerts`); answers
///   signed by the CA.
/// `certConf` → `pkiConf` follows either way unless `implicitConfirm` was asked. Every message can find its
/// application again, so any instance can answer any message; the process that issued a certificate keeps the
/// transaction until its certConf (`AwaitingConfirmations`) and spares that certConf the registry's read.
public struct CMPResponder: Sendable {
    public static let mediaType = cmpMediaType
    /// The highest PBM iteration count accepted (RFC 9483 §4.1.1 asks servers to cap it: a DoS guard).
    ///
    /// Every request costs its count in hashes before anything else is known of it — even one that proves nothing —
    /// so the cap is low: Paraphe's client sends 1,000, OpenSSL 500; 10,000 costs about 2 ms.
    static let maximumIterations = 10_000

    let authority: EmbeddedAuthority
    let logger: Logger

    public init(authority: EmbeddedAuthority, logger: Logger) {
        self.authority = authority
        self.logger = logger
    }

    /// The answer to one CMP message (always a CMP message, an `error` one if need be).
    ///
    /// `client`: who sent it, for the limit on requests that prove no code (`SenderPolicy`).
    public func respond(to bytes: [UInt8], from client: ClientAddress) async -> [UInt8] {
        await exchange(bytes, from: client).bytes
    }

    /// The same answer, with the tags of the request's body (nil when it was no PKIMessage) and of the answer's:
    /// what the service counts in `/metrics`, without decoding either message a second time.
    public func exchange(_ bytes: [UInt8], from client: ClientAddress) async -> CMPAnswer {
        let request: PKIMessage
        do {
            request = try PKIMessage(derEncoded: bytes)
        } catch {
            return CMPAnswer(unprotectedError(to: nil, .rejection(.badDataFormat, "The request is not a DER-encoded PKIMessage.")), request: nil)
        }
        return CMPAnswer(await dispatch(request, from: client), request: request.body.tag)
    }

    private func dispatch(_ request: PKIMessage, from client: ClientAddress) async -> Answered {
        guard request.header.pvno == 2 || request.header.pvno == 3 else {
            return unprotectedError(to: request, .rejection(.unsupportedVersion, "Only CMP versions 2 and 3 are spoken here."))
        }
        // The certConf of an enrollment this process answered: checked against what it kept (AwaitingConfirmations).
        if case .certConf(let statuses) = request.body, request.protectionKind == .passwordBasedMAC, let awaited = authority.awaiting.take(request) {
            let caller = Caller(token: awaited.token, reference: awaited.reference, credential: .secret(awaited.key))
            return await confirm(request, statuses, caller, issued: awaited.certificateDER, serial: awaited.serial)
        }
        let caller: Caller
        switch await identify(request, from: client) {
        case .failure(let failure): return unprotectedError(to: request, failure.status)
        case .success(let value): caller = value
        }
        switch (request.body, caller.credential) {
        case (.ir, .secret), (.cr, .secret), (.p10cr, .secret):
            return await enroll(request, caller)
        case (.kur(let messages), .holder):
            return await update(request, messages, caller)
        case (.rr(let details), .holder):
            return await revoke(request, details, caller)
        case (.certConf(let statuses), _):
            return await confirm(request, statuses, caller)
        case (.kur, .secret), (.rr, .secret):
            return unprotectedError(to: request, .rejection(.wrongIntegrity, "kur and rr must be signed with the certificate they concern."))
        case (.ir, .holder), (.cr, .holder), (.p10cr, .holder):
            return unprotectedError(
                to: request, .rejection(.wrongIntegrity, "A first enrollment is protected by the authorization code (password-based MAC)."))
        default:
            return unprotectedError(to: request, .rejection(.badRequest, "This authority answers ir, cr, p10cr, kur, rr and certConf."))
        }
    }

    // MARK: - Who is asking

    /// How the caller proved who it is, and so how the answer is protected.
    enum Credential: Sendable {
        /// The application's authorization code, as the PBM key the request carried and that verified (the answer
        /// is MACed with it, same parameters: one derivation a message received, none for the answer).
        case secret(PasswordBasedMACKey)
        /// A certificate this authority issued to the application, not revoked (the answer is signed by the CA).
        case holder(serial: String, certificateDER: [UInt8])
    }

    struct Caller: Sendable {
        let token: ApplicationToken
        /// The application as read to find the code (a code caller only).
        var application: ApplicationRow? = nil
        let reference: ReferenceNumber?
        let credential: Credential
    }

    struct ErrorAnswer: Error {
        let status: PKIStatusInfo
        init(_ status: PKIStatusInfo) { self.status = status }
    }

    /// What every request that proves no code is told, whether its reference number is live or not (so live
    /// reference numbers cannot be listed) and whatever application it named.
    static let codesNotProved = PKIStatusInfo.rejection(.badMessageCheck, "The reference number or authorization code is wrong.")

    private func identify(_ request: PKIMessage, from client: ClientAddress) async -> Result<Caller, ErrorAnswer> {
        switch request.protectionKind {
        case .passwordBasedMAC: return await authenticateByCode(request, from: client)
        case .signature: return await authenticateByCertificate(request)
        case .none: return .failure(ErrorAnswer(.rejection(.wrongIntegrity, "The request must be protected.")))
        case .unsupported: return .failure(ErrorAnswer(.rejection(.badAlg, "The protection algorithm is not supported.")))
        }
    }

    /// Finds the application (by the Paraphe token named as the sender, else by the reference number) and checks
    /// the MAC with its authorization code.
    ///
    /// A request that proves no code — no such application, or a MAC that does not verify — changes nothing of
    /// any application: it is counted against its sender (`SenderPolicy`) and answered unprotected (an answer
    /// MACed with a code the requester did not prove it holds would be an oracle), the same way whichever it
    /// was; an unknown reference number costs the same derivation as a live one. A sender over the limit is
    /// refused before any lookup unless it names its application.
    private func authenticateByCode(_ request: PKIMessage, from client: ClientAddress) async -> Result<Caller, ErrorAnswer> {
        guard let kid = request.header.senderKID, let text = String(bytes: kid, encoding: .utf8),
            let reference = try? ReferenceNumber(parsing: text)
        else {
            return .failure(ErrorAnswer(.rejection(.badRequest, "senderKID must be the reference number (9 digits).")))
        }
        let token = ParapheCMP.token(in: request.header).flatMap { try? ApplicationToken(parsing: $0) }
        let found: (row: ApplicationRow, authorization: AuthorizationCode)?
        do {
            if token == nil, let until = try await authority.senderRefusedUntil(client) {
                logger.notice("CMP request refused: too many failed requests from its sender", metadata: ["client": "\(client)"])
                return .failure(
                    ErrorAnswer(
                        .rejection(
                            .notAuthorized,
                            "Too many requests with a wrong reference number or authorization code came from this address; try again after \(EmbeddedAuthority.iso8601(until))."
                        )))
            }
            found = try await authority.enrollmentSecret(reference: reference, token: token)
        } catch {
            return .failure(ErrorAnswer(status(for: error)))
        }
        // No application: the same derivation with a secret nobody holds, so the answer comes as late as for a live one.
        let secret = found.map { Array($0.authorization.revealed.utf8) } ?? authority.random.bytes(16)
        let key: PasswordBasedMACKey
        do {
            key = try request.passwordBasedMACKey(secret: secret, maxIterations: Self.maximumIterations)
            try request.verifyProtection(key: key)
        } catch let error where error.code == .badMAC {
            return await notProved(from: client)
        } catch {
            return .failure(ErrorAnswer(.rejection(.badMessageCheck, "The password-based MAC cannot be checked (\(error.reason)).")))
        }
        guard let found else { return await notProved(from: client) }
        return .success(Caller(token: found.row.token, application: found.row, reference: reference, credential: .secret(key)))
    }

    /// A request that proved no code: counted against its sender, answered `codesNotProved`.
    private func notProved(from client: ClientAddress) async -> Result<Caller, ErrorAnswer> {
        do {
            try await authority.recordSenderFailure(client)
        } catch {
            return .failure(ErrorAnswer(status(for: error)))
        }
        logger.info("CMP request with a wrong reference number or authorization code", metadata: ["client": "\(client)"])
        return .failure(ErrorAnswer(Self.codesNotProved))
    }

    /// The signer's certificate comes first in `extraCerts`; it must be one this authority issued and
    /// has not revoked, and its key must verify the protection.
    private func authenticateByCertificate(_ request: PKIMessage) async -> Result<Caller, ErrorAnswer> {
        guard let der = request.extraCerts.first, let certificate = try? Certificate(derEncoded: der) else {
            return .failure(ErrorAnswer(.rejection(.signerNotTrusted, "Send the signer's certificate first in extraCerts.")))
        }
        let holder: EmbeddedAuthority.CertificateHolder?
        do {
            holder = try await authority.certificateHolder(of: der)
        } catch {
            return .failure(ErrorAnswer(status(for: error)))
        }
        guard let holder else {
            return .failure(ErrorAnswer(.rejection(.signerNotTrusted, "The signer's certificate was not issued by this authority.")))
        }
        guard !holder.revoked else {
            return .failure(ErrorAnswer(.rejection(.certRevoked, "The signer's certificate is revoked.")))
        }
        guard authority.now < certificate.notValidAfter else {
            return .failure(ErrorAnswer(.rejection(.signerNotTrusted, "The signer's certificate has expired.")))
        }
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(certificate.publicKey)) != nil else {
            return .failure(ErrorAnswer(.rejection(.badDataFormat, "The signer's key cannot be read.")))
        }
        do {
            try request.verifySignatureProtection(publicKeyInfoDER: serializer.serializedBytes)
        } catch {
            return .failure(ErrorAnswer(.rejection(.badMessageCheck, "The signature does not verify with the signer's certificate.")))
        }
        return .success(Caller(token: holder.token, reference: nil, credential: .holder(serial: holder.serial, certificateDER: der)))
    }

    // MARK: - Enrollment, update, revocation

    private func enroll(_ request: PKIMessage, _ caller: Caller) async -> Answered {
        guard let reference = caller.reference, let application = caller.application else {
            return unprotectedError(to: request, .rejection(.badRequest, "No reference number."))
        }
        let (publicKeyInfo, certReqId): ([UInt8], Int)
        switch Self.requestedKey(request.body) {
        case .failure(let failure):
            return protectedError(to: request, failure.status, caller)
        case .success(let value):
            (publicKeyInfo, certReqId) = value
        }
        do {
            let (issued, serial) = try await authority.enroll(application, reference: reference, publicKeyInfoDER: publicKeyInfo)
            logger.info("certificate enrolled by CMP", metadata: ["application": "\(authority.digest(caller.token))"])
            if case .secret(let key) = caller.credential, !request.header.hasImplicitConfirm, let transactionID = request.header.transactionID {
                authority.awaiting.keep(
                    AwaitingConfirmations.Entry(
                        key: key, token: caller.token, reference: reference, serial: serial, certificateDER: issued.certificateDER),
                    transactionID: transactionID)
            }
            let body: PKIBody = if case .ir = request.body { .ip(Self.certRep(issued, certReqId)) } else { .cp(Self.certRep(issued, certReqId)) }
            return answer(to: request, body: body, caller, confirmable: true, extraCerts: issued.chainDER)
        } catch {
            let status = status(for: error)
            logger.info(
                "CMP enrollment refused",
                metadata: ["application": "\(authority.digest(caller.token))", "reason": "\(status.statusString.first ?? "")"])
            return protectedError(to: request, status, caller, details: Self.details(error))
        }
    }

    /// `kur`: a new certificate for a new key, same subject, authenticated by the current certificate.
    private func update(_ request: PKIMessage, _ messages: [CertReqMsg], _ caller: Caller) async -> Answered {
        guard case .holder(let serial, _) = caller.credential else {
            return unprotectedError(to: request, .rejection(.wrongIntegrity, "Sign the kur."))
        }
        let (publicKeyInfo, certReqId): ([UInt8], Int)
        switch Self.requestedKey(.kur(messages)) {
        case .failure(let failure): return protectedError(to: request, failure.status, caller)
        case .success(let value): (publicKeyInfo, certReqId) = value
        }
        do {
            let issued = try await authority.updateCertificate(replacing: serial, publicKeyInfoDER: publicKeyInfo)
            logger.info("certificate updated by CMP", metadata: ["application": "\(authority.digest(caller.token))"])
            return answer(to: request, body: .kup(Self.certRep(issued, certReqId)), caller, confirmable: true, extraCerts: issued.chainDER)
        } catch {
            return protectedError(to: request, status(for: error), caller, details: Self.details(error))
        }
    }

    /// `rr`: the holder revokes its own certificate (any other serial is refused).
    private func revoke(_ request: PKIMessage, _ details: [RevDetails], _ caller: Caller) async -> Answered {
        guard case .holder(let serial, _) = caller.credential else {
            return unprotectedError(to: request, .rejection(.wrongIntegrity, "Sign the rr."))
        }
        var statuses: [PKIStatusInfo] = []
        for detail in details {
            let requested = detail.certDetails.serialNumber.map { String(hexOf: $0) } ?? ""
            guard requested == serial else {
                statuses.append(.rejection(.notAuthorized, "A holder may revoke its own certificate only."))
                continue
            }
            let reason = detail.reasonCode.flatMap(RevocationReason.init(rawValue:)) ?? .unspecified
            do {
                try await authority.revoke(.certificate(serial: serial), reason: reason, actor: "subscriber")
                statuses.append(.accepted)
            } catch {
                statuses.append(status(for: error))
            }
        }
        return answer(to: request, body: .rp(RevRepContent(status: statuses)), caller, confirmable: false)
    }

    /// The public key (SubjectPublicKeyInfo DER) and certReqId of a single request whose proof of
    /// possession verifies.
    ///
    /// The subject and extensions asked for are ignored: the authority decides them.
    static func requestedKey(_ body: PKIBody) -> Result<([UInt8], Int), ErrorAnswer> {
        switch body {
        case .ir(let messages), .cr(let messages), .kur(let messages):
            guard messages.count == 1, let message = messages.first else {
                return .failure(ErrorAnswer(.rejection(.badRequest, "Send exactly one certificate request.")))
            }
            guard let key = message.certReq.certTemplate.publicKey else {
                return .failure(ErrorAnswer(.rejection(.badCertTemplate, "The certificate template has no public key.")))
            }
            do {
                try message.verifyProofOfPossession()
            } catch {
                return .failure(ErrorAnswer(.rejection(.badPOP, "The proof of possession does not verify.")))
            }
            return .success((key, message.certReq.certReqId))
        case .p10cr(let csrDER):
            guard let csr = try? CertificateSigningRequest(derEncoded: csrDER), csr.publicKey.isValidSignature(csr.signature, for: csr) else {
                return .failure(ErrorAnswer(.rejection(.badPOP, "The PKCS#10 request's signature does not verify.")))
            }
            var serializer = DER.Serializer()
            guard (try? serializer.serialize(csr.publicKey)) != nil else {
                return .failure(ErrorAnswer(.rejection(.badCertTemplate, "The request's public key cannot be read.")))
            }
            return .success((serializer.serializedBytes, -1))
        default:
            return .failure(ErrorAnswer(.rejection(.badRequest, "Not a certificate request.")))
        }
    }

    static func certRep(_ issued: IssuedCertificate, _ certReqId: Int) -> CertRepMessage {
        let response = CertResponse(
            certReqId: certReqId, status: .accepted, certifiedKeyPair: CertifiedKeyPair(certOrEncCert: .certificate(issued.certificateDER)))
        return CertRepMessage(caPubs: Array(issued.chainDER.suffix(1)), response: [response])
    }

    // MARK: - Confirmation

    private func confirm(_ request: PKIMessage, _ statuses: [CertStatus], _ caller: Caller) async -> Answered {
        let known: ApplicationRow?
        do {
            // A code caller's application was read to find its code; a holder's is read here.
            known = if let application = caller.application { application } else { try await authority.application(caller.token) }
        } catch {
            return protectedError(to: request, status(for: error), caller)
        }
        guard let application = known, let issued = application.certificateDER else {
            return protectedError(to: request, Self.nothingAwaitsConfirmation, caller)
        }
        return await confirm(request, statuses, caller, issued: issued, serial: application.certificateSerial ?? "?")
    }

    static let nothingAwaitsConfirmation = PKIStatusInfo.rejection(.badCertId, "No certificate of this application awaits confirmation.")

    /// Confirms (or records the refusal of) `issued`, the application's certificate.
    private func confirm(_ request: PKIMessage, _ statuses: [CertStatus], _ caller: Caller, issued: [UInt8], serial: String) async -> Answered {
        do {
            guard statuses.count == 1, let status = statuses.first else {
                return protectedError(to: request, Self.nothingAwaitsConfirmation, caller)
            }
            let matches = status.matches(certificateDER: issued)
            let accepted = status.statusInfo?.isPositive ?? true
            try await authority.recordConfirmation(token: caller.token, serial: serial, accepted: accepted, certificateMatches: matches)
            guard matches else {
                return protectedError(to: request, .rejection(.badCertId, "The certificate hash is not that of the certificate issued."), caller)
            }
            // Signed with the new certificate itself: its profile exists; a recovery's old certificate goes now.
            if accepted, case .holder(let serial, _) = caller.credential {
                try await authority.completeRecovery(token: caller.token, confirmedSerial: serial)
            }
            return answer(to: request, body: .pkiConf, caller, confirmable: false)
        } catch {
            return protectedError(to: request, status(for: error), caller)
        }
    }

    // MARK: - Answers

    /// A refusal as CMP says it: the failure bit that means it, and the English reason.
    func status(for error: any Error) -> PKIStatusInfo {
        switch error {
        case let refusal as ActivationError:
            let text = refusal.message(in: .en)
            switch refusal.code {
            case .wrongReference: return .rejection(.badMessageCheck, text)
            case .alreadyActivated, .codesUsed: return .rejection(.duplicateCertReq, text)
            case .revoked: return .rejection(.certRevoked, text)
            case .codesExpired, .renewalRequired, .identityLocked, .identityNotVerified: return .rejection(.notAuthorized, text)
            case .linkMalformed, .unknownApplication, .wrongAnswers, .renewalLimit, .referenceMalformed, .referenceCheckDigit, .passwordRejected,
                .invalidInput:
                return .rejection(.badRequest, text)
            }
        case let error as AuthorityError:
            switch error.code {
            case .csrInvalid: return .rejection(.badCertTemplate, error.reason)
            case .badRequest: return .rejection(.badRequest, error.reason)
            case .notAuthorized: return .rejection(.notAuthorized, error.reason)
            case .busy: return .rejection(.systemUnavail, "The authority is busy; retry in a moment.")
            case .unavailable:
                logger.warning("CMP request failed", metadata: ["reason": "\(error.reason)"])
                return .rejection(.systemUnavail, WireError.unavailable.message)
            case .storage, .dataDirectory, .certificateAuthority, .otherCA, .mail:
                logger.error("CMP request failed", metadata: ["reason": "\(error.reason)"])
                return .rejection(.systemFailure, "The authority could not complete the request; retry later.")
            }
        default:
            logger.error("CMP request failed", metadata: ["error": "\(type(of: error))"])
            return .rejection(.systemFailure, "The authority could not complete the request; retry later.")
        }
    }

    /// The machine-readable refusal for Paraphe's client (errorDetails), so the kiosk can say it in the
    /// person's language: the API's error body, as JSON.
    static func details(_ error: any Error) -> [String] {
        guard let refusal = error as? ActivationError, let data = try? WireFormat.encoder.encode(WireError(refusal)) else { return [] }
        return [String(decoding: data, as: UTF8.self)]
    }

    private func header(answering request: PKIMessage?) -> PKIHeader {
        PKIHeader(
            pvno: request?.header.pvno ?? 2,
            sender: (try? PKIHeader.directoryName(authority.caSubject)) ?? PKIHeader.nullDN,
            recipient: request?.header.sender ?? PKIHeader.nullDN,
            messageTime: authority.now,
            recipKID: request?.header.senderKID,
            transactionID: request?.header.transactionID,
            senderNonce: authority.random.bytes(16),
            recipNonce: request?.header.senderNonce)
    }

    /// An answer protected the way the caller proved itself: MACed with its code, or signed by the CA
    /// (whose certificate then travels in extraCerts).
    ///
    /// `confirmable`: grant implicitConfirm if asked.
    private func answer(to request: PKIMessage, body: PKIBody, _ caller: Caller, confirmable: Bool, extraCerts: [[UInt8]] = []) -> Answered {
        var header = header(answering: request)
        if confirmable, request.header.hasImplicitConfirm { header.generalInfo = [.implicitConfirm] }
        var message = PKIMessage(header: header, body: body, extraCerts: extraCerts)
        do {
            switch caller.credential {
            case .secret(let key):
                try message.protect(with: key)
            case .holder:
                // Signed by the CMP responder, whose certificate (and the CA's) travel in extraCerts.
                let signer = try authority.cmpSigningIdentity()
                if let name = try? Certificate(derEncoded: signer.certificateDER).subject {
                    message.header.sender = try PKIHeader.directoryName(name)
                }
                message.extraCerts = signer.chainDER + message.extraCerts.filter { !signer.chainDER.contains($0) }
                try message.protect(signatureAlgorithm: .ecdsaWithSHA256, signingWith: signer.sign)
            }
            return Answered(bytes: try message.serialized(), tag: body.tag)
        } catch {
            logger.error("cannot encode a CMP answer", metadata: ["body": "\(body.name)"])
            return unprotectedError(to: request, .rejection(.systemFailure, "The authority could not encode its answer."))
        }
    }

    private func protectedError(to request: PKIMessage, _ status: PKIStatusInfo, _ caller: Caller, details: [String] = []) -> Answered {
        answer(to: request, body: .error(ErrorMsgContent(pkiStatusInfo: status, errorDetails: details)), caller, confirmable: false)
    }

    private func unprotectedError(to request: PKIMessage?, _ status: PKIStatusInfo) -> Answered {
        let body = PKIBody.error(ErrorMsgContent(pkiStatusInfo: status))
        // An error body of fixed shape always encodes; an empty answer is the last resort.
        return Answered(bytes: (try? PKIMessage(header: header(answering: request), body: body).serialized()) ?? [], tag: body.tag)
    }
}

/// An answer's DER and its body's tag.
struct Answered: Sendable {
    var bytes: [UInt8]
    var tag: UInt
}

/// A CMP answer, and the body tags of the request it answers and of itself.
public struct CMPAnswer: Sendable {
    public var bytes: [UInt8]
    /// The request's body tag; nil when the request was not a DER-encoded PKIMessage.
    public var requestTag: UInt?
    public var answerTag: UInt

    init(_ answered: Answered, request: UInt?) {
        bytes = answered.bytes
        requestTag = request
        answerTag = answered.tag
    }
}

extension String {
    /// Upper-case hexadecimal of INTEGER content octets, without a leading zero byte (as serials are shown).
    init(hexOf bytes: [UInt8]) {
        let trimmed = bytes.count > 1 && bytes.first == 0 ? Array(bytes.dropFirst()) : bytes
        self = Hex.uppercase(trimmed)
    }
}
