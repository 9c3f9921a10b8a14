import Activation
import AuthorityInterface
import AuthorityWire
import CMP
import Foundation

/// Step 5 over CMP: a `p10cr` carrying the CSR the keystore made (its signature is the proof of
/// possession), protected by the password-based MAC keyed by the authorization code, with the
/// reference number as `senderKID` and the application named as the sender; then `certConf`.
enum CMPEnrollment {
    static let mediaType = cmpMediaType

    static func enroll(
        csrDER: [UInt8], token: ApplicationToken, reference: ReferenceNumber, authorization: AuthorizationCode,
        random: any RandomSource, now: Date, caDER: [UInt8], transport: @escaping @Sendable ([UInt8]) async throws -> [UInt8]
    ) async throws -> IssuedCertificate {
        do {
            let result = try await CMPClientTransaction.enroll(
                body: .p10cr(csrDER), reference: Array(reference.digits.utf8), secret: Array(authorization.revealed.utf8),
                sender: try ParapheCMP.sender(token: token.value), implicitConfirm: false, random: { random.bytes($0) }, now: now,
                transport: transport)
            return IssuedCertificate(certificateDER: result.certificateDER, chainDER: [caDER])
        } catch let error as CMPError {
            throw refusal(error)
        }
    }

    /// A CMP refusal as the rule it stands for (from the error's details, when the answer was
    /// authenticated with our code), else as what CMP says; a broken exchange is a malformed answer.
    static func refusal(_ error: CMPError) -> any Error {
        guard case .rejected(let status) = error.code else {
            return AuthorityConnectionError(.malformedResponse, error.reason)
        }
        if let refusal = WireError.refusal(cmpErrorDetails: error.errorDetails, authenticated: error.authenticated) { return refusal }
        let failure = status.failInfo ?? []
        if failure.contains(.badMessageCheck) {
            // Unauthenticated: the code this kiosk holds is not the application's any more (renewed elsewhere).
            return ActivationError(.identityNotVerified)
        }
        if failure.contains(.badRequest) { return ActivationError(.unknownApplication) }
        if failure.contains(.duplicateCertReq) { return ActivationError(.codesUsed) }
        if failure.contains(.certRevoked) { return ActivationError(.revoked) }
        if failure.contains(.systemFailure) || failure.contains(.systemUnavail) {
            return AuthorityConnectionError(.serverFailure, status.statusString.first ?? "the authority failed")
        }
        return AuthorityConnectionError(.malformedResponse, status.statusString.first ?? "the authority refused the request")
    }
}
