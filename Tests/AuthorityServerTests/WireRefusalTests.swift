import Activation
import AuthorityWire
import Foundation
import Testing

/// Every rule refusal crosses the API and comes back as itself, with its HTTP status and the person's English text.
@Suite struct WireRefusalTests {
    /// One refusal of each code; `kind` is an exhaustive switch, so a new code fails to build until it is listed here.
    static let refusals: [ActivationError.Code] = [
        .linkMalformed, .unknownApplication, .alreadyActivated, .identityLocked, .revoked, .wrongAnswers(remaining: 2),
        .identityNotVerified, .codesExpired(expiredAt: Date(timeIntervalSince1970: 1_790_000_000)),
        .renewalLimit(nextAllowedAt: Date(timeIntervalSince1970: 1_790_086_400)), .referenceMalformed, .referenceCheckDigit,
        .wrongReference(remaining: 1), .renewalRequired, .codesUsed, .passwordRejected([.minimumLength]),
        .invalidInput(field: .answer, problem: .controlCharacters),
    ]

    static func kind(_ code: ActivationError.Code) -> String {
        switch code {
        case .linkMalformed: "linkMalformed"
        case .unknownApplication: "unknownApplication"
        case .alreadyActivated: "alreadyActivated"
        case .identityLocked: "identityLocked"
        case .revoked: "revoked"
        case .wrongAnswers: "wrongAnswers"
        case .identityNotVerified: "identityNotVerified"
        case .codesExpired: "codesExpired"
        case .renewalLimit: "renewalLimit"
        case .referenceMalformed: "referenceMalformed"
        case .referenceCheckDigit: "referenceCheckDigit"
        case .wrongReference: "wrongReference"
        case .renewalRequired: "renewalRequired"
        case .codesUsed: "codesUsed"
        case .passwordRejected: "passwordRejected"
        case .invalidInput: "invalidInput"
        }
    }

    @Test func everyCodeIsListed() {
        #expect(Set(Self.refusals.map(Self.kind)).count == Self.refusals.count)
    }

    @Test(arguments: refusals)
    func aRefusalCrossesTheAPIAsItself(code: ActivationError.Code) throws {
        let refusal = ActivationError(code)
        let wire = WireError(refusal)
        #expect(wire.code == Self.kind(code))
        #expect(wire.message == refusal.message(in: .en))
        let decoded = try WireFormat.decoder.decode(WireError.self, from: WireFormat.encoder.encode(wire))
        if case .passwordRejected = code {
            // The workstation checks its own password; the authority never refuses one, so no client reads it back.
            #expect(decoded.activationError == nil)
            #expect(decoded.httpStatus == 400)
        } else {
            #expect(decoded.activationError == refusal)
            #expect(decoded.httpStatus == refusal.httpStatus)
        }
    }
}
