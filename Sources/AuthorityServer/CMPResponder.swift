import Activation
import Authority
import AuthorityInterface
import CMP
import Crypto
import Foundation
import Logging
import SwiftASN1
import X509

/// Enrollment by CMP (RFC 9810 over RFC 6712): `ir`, `cr` or `p10cr` protected by the password-based
/// MAC keyed by the authorization code, with the reference number as `senderKID`; then `certConf` →
/// `pkiConf` unless `implicitConfirm` was asked. The exchange is stateless: every message finds its
/// application again by its reference number, so any instance can answer any message.
struct CMPResponder: Sendable {
    static let mediaType = cmpMediaType
    /// The highest PBM iteration count accepted (RFC 9483 §4.1.1 asks servers to cap it: a DoS guard).
    static let maximumIterations = 100_000
    /// The iteration count of the PBM on the answers.
    static let answerIterations = 10_000

    let authority: EmbeddedAuthority
    let logger: Logger

    /// The answer to one CMP message (always a CMP message, an `error` one if need be).
    func respond(to bytes: [UInt8]) async -> [UInt8] {
        let request: PKIMessage
        do {
            request = try PKIMessage(derEncoded: bytes)
        } catch {
            return unprotectedError(to: nil, .rejection(.badDataFormat, "The request is not a DER-encoded PKIMessage."))
        }
        guard request.header.pvno == 2 || request.header.pvno == 3 else {
            return unprotectedError(to: request, .rejection(.unsupportedVersion, "Only CMP versions 2 and 3 are spoken here."))
        }
        switch request.body {
        case .ir, .cr, .p10cr:
            return await enroll(request)
        case .certConf(let statuses):
            return await confirm(request, statuses)
        default:
            return unprotectedError(to: request, .rejection(.badRequest, "This authority answers ir, cr, p10cr and certConf."))
        }
    }

    // MARK: - Enrollment

    /// What the request's protection checked out to.
    private struct Authenticated {
        let token: ApplicationToken
        let reference: ReferenceNumber
        let secret: [UInt8]
        let macVerified: Bool
    }

    /// Finds the application (by the Paraphe token in generalInfo, else by the reference number) and
    /// checks the MAC with its authorization code. A failure here is answered unprotected: the answer
    /// must never be MACed with a code the requester did not prove it holds (that would be an oracle).
    private func authenticate(_ request: PKIMessage) async -> Result<Authenticated, ErrorAnswer> {
        guard let kid = request.header.senderKID, let text = String(bytes: kid, encoding: .utf8),
            let reference = try? ReferenceNumber(parsing: text)
        else {
            return .failure(.init(.rejection(.badRequest, "senderKID must be the reference number (9 digits).")))
        }
        let token = ParapheCMP.token(in: request.header).flatMap { try? ApplicationToken(parsing: $0) }
        let found: (token: ApplicationToken, authorization: AuthorizationCode)?
        do {
            found = try await authority.enrollmentSecret(reference: reference, token: token)
        } catch {
            return .failure(.init(status(for: error)))
        }
        guard let found else {
            return .failure(.init(.rejection(.badRequest, "No application has live codes with this reference number.")))
        }
        let secret = Array(found.authorization.revealed.utf8)
        do {
            try request.verifyProtection(secret: secret, maxIterations: Self.maximumIterations)
            return .success(Authenticated(token: found.token, reference: reference, secret: secret, macVerified: true))
        } catch let error where error.code == .badMAC {
            return .success(Authenticated(token: found.token, reference: reference, secret: secret, macVerified: false))
        } catch {
            return .failure(.init(.rejection(.badMessageCheck, "The request must be protected by a password-based MAC (\(error.reason)).")))
        }
    }

    private func enroll(_ request: PKIMessage) async -> [UInt8] {
        let authenticated: Authenticated
        switch await authenticate(request) {
        case .failure(let failure): return unprotectedError(to: request, failure.status)
        case .success(let value): authenticated = value
        }
        // The key and its proof of possession.
        let publicKeyInfo: [UInt8]
        let certReqId: Int
        switch Self.requestedKey(request.body) {
        case .failure(let failure):
            let status = failure.status
            return authenticated.macVerified
                ? protectedError(to: request, status, secret: authenticated.secret) : unprotectedError(to: request, status)
        case .success(let value):
            (publicKeyInfo, certReqId) = value
        }
        do {
            let issued = try await authority.enroll(
                token: authenticated.token, reference: authenticated.reference, macVerified: authenticated.macVerified,
                publicKeyInfoDER: publicKeyInfo)
            // Not reached with a wrong MAC: the authority counts it and refuses.
            guard authenticated.macVerified else {
                return unprotectedError(to: request, .rejection(.badMessageCheck, "The authorization code does not match."))
            }
            logger.info("certificate enrolled by CMP", metadata: ["token": "\(authenticated.token.formatted)"])
            let response = CertResponse(
                certReqId: certReqId, status: .accepted,
                certifiedKeyPair: CertifiedKeyPair(certOrEncCert: .certificate(issued.certificateDER)))
            let repMessage = CertRepMessage(caPubs: issued.chainDER.suffix(1), response: [response])
            let body: PKIBody = if case .ir = request.body { .ip(repMessage) } else { .cp(repMessage) }
            var generalInfo: [InfoTypeAndValue] = []
            if request.header.hasImplicitConfirm { generalInfo.append(.implicitConfirm) }
            return answer(to: request, body: body, secret: authenticated.secret, generalInfo: generalInfo, extraCerts: issued.chainDER)
        } catch {
            let status = status(for: error)
            logger.info("CMP enrollment refused", metadata: ["token": "\(authenticated.token.formatted)", "reason": "\(status.statusString.first ?? "")"])
            return authenticated.macVerified
                ? protectedError(to: request, status, secret: authenticated.secret, details: Self.details(error))
                : unprotectedError(to: request, .rejection(.badMessageCheck, "The reference number or authorization code is wrong."))
        }
    }

    /// The public key (SubjectPublicKeyInfo DER) and certReqId of a single request whose proof of
    /// possession verifies. The subject and extensions asked for are ignored: the authority decides them.
    static func requestedKey(_ body: PKIBody) -> Result<([UInt8], Int), ErrorAnswer> {
        switch body {
        case .ir(let messages), .cr(let messages):
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

    // MARK: - Confirmation

    private func confirm(_ request: PKIMessage, _ statuses: [CertStatus]) async -> [UInt8] {
        let authenticated: Authenticated
        switch await authenticate(request) {
        case .failure(let failure): return unprotectedError(to: request, failure.status)
        case .success(let value): authenticated = value
        }
        guard authenticated.macVerified else {
            return unprotectedError(to: request, .rejection(.badMessageCheck, "The authorization code does not match."))
        }
        do {
            guard let issued = try await authority.certificateDER(of: authenticated.token), statuses.count == 1, let status = statuses.first
            else {
                return protectedError(to: request, .rejection(.badCertId, "No certificate of this application awaits confirmation."), secret: authenticated.secret)
            }
            let matches = status.matches(certificateDER: issued)
            let accepted = status.statusInfo?.isPositive ?? true
            try await authority.recordConfirmation(token: authenticated.token, accepted: accepted, certificateMatches: matches)
            guard matches else {
                return protectedError(to: request, .rejection(.badCertId, "The certificate hash is not that of the certificate issued."), secret: authenticated.secret)
            }
            return answer(to: request, body: .pkiConf, secret: authenticated.secret)
        } catch {
            return protectedError(to: request, status(for: error), secret: authenticated.secret)
        }
    }

    // MARK: - Answers

    struct ErrorAnswer: Error {
        let status: PKIStatusInfo
        init(_ status: PKIStatusInfo) { self.status = status }
    }

    /// A refusal as CMP says it: the failure bit that means it, and the English reason.
    func status(for error: any Error) -> PKIStatusInfo {
        switch error {
        case let refusal as ActivationError:
            let text = ActivationError.englishReason(refusal.code)
            switch refusal.code {
            case .wrongReference: return .rejection(.badMessageCheck, text)
            case .alreadyActivated, .codesUsed: return .rejection(.duplicateCertReq, text)
            case .revoked: return .rejection(.certRevoked, text)
            case .codesExpired, .renewalRequired, .identityLocked, .identityNotVerified: return .rejection(.notAuthorized, text)
            case .unknownApplication: return .rejection(.badRequest, text)
            default: return .rejection(.badRequest, text)
            }
        case let error as AuthorityError:
            switch error.code {
            case .csrInvalid: return .rejection(.badCertTemplate, error.reason)
            case .badRequest: return .rejection(.badRequest, error.reason)
            default:
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
            messageTime: Date(),
            recipKID: request?.header.senderKID,
            transactionID: request?.header.transactionID,
            senderNonce: Array(SystemRandomSource().bytes(16)),
            recipNonce: request?.header.senderNonce)
    }

    private func answer(to request: PKIMessage, body: PKIBody, secret: [UInt8], generalInfo: [InfoTypeAndValue] = [], extraCerts: [[UInt8]] = []) -> [UInt8] {
        var header = header(answering: request)
        header.generalInfo = generalInfo
        var message = PKIMessage(header: header, body: body, extraCerts: extraCerts)
        do {
            try message.protect(withSecret: secret, salt: SystemRandomSource().bytes(16), iterations: Self.answerIterations)
            return try message.serialized()
        } catch {
            logger.error("cannot encode a CMP answer", metadata: ["body": "\(body.name)"])
            return unprotectedError(to: request, .rejection(.systemFailure, "The authority could not encode its answer."))
        }
    }

    private func protectedError(to request: PKIMessage, _ status: PKIStatusInfo, secret: [UInt8], details: [String] = []) -> [UInt8] {
        answer(to: request, body: .error(ErrorMsgContent(pkiStatusInfo: status, errorDetails: details)), secret: secret)
    }

    private func unprotectedError(to request: PKIMessage?, _ status: PKIStatusInfo) -> [UInt8] {
        let message = PKIMessage(header: header(answering: request), body: .error(ErrorMsgContent(pkiStatusInfo: status)))
        // An error body of fixed shape always encodes; an empty answer is the last resort.
        return (try? message.serialized()) ?? []
    }
}
