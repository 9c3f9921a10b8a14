import Activation
import AuthorityInterface
import Foundation
import Logging

/// How often a recovery email may go to one application.
public enum RecoveryPolicy {
    public static let emailsPerWindow = 3
    public static let window: TimeInterval = 24 * 3600
}

extension EmbeddedAuthority {
    /// "Recover my digital signature": if an activated application (or one in a recovery) has this email address, it gets new
    /// codes (the old pair dies), its identity check starts over (5 attempts), and a "Digital Signature :
    /// Recovery" email goes out with the link and the new reference number — at most 3 in 24 hours. The
    /// caller learns nothing either way (the same answer whether or not the address is known). The
    /// current certificate stays valid until the new profile is confirmed (`completeRecovery`).
    public func requestRecovery(email: String) async throws {
        let address = email.trimmingCharacters(in: .whitespacesAndNewlines)
        guard Self.looksLikeEmail(address) else { return }
        let now = configuration.time.now()
        guard let token = try await registry.recoveryCandidate(email: address), let before = try await registry.application(token: token) else {
            Self.logger.info("recovery asked for an address with no activated application")
            return
        }
        for _ in 0..<Self.collisionRetries {
            let reference = ReferenceNumber.generate(using: configuration.random)
            let sealed = try sealer.seal(AuthorizationCode.generate(using: configuration.random), for: token)
            let expiresAt = CodesState(reference: reference, issuedAt: now).expiresAt
            let mail = try mailer.prepare(
                .init(kind: .recovery, subscriber: before.subscriber, token: token, reference: reference, expiresAt: expiresAt),
                at: now, random: configuration.random)
            enum Outcome: Sendable { case sent, limited, collision }
            let outcome: Outcome
            do {
                outcome = try await registry.update(token: token) { row -> RegistryChange<Outcome> in
                    // Activated, or already in a recovery (a new email replaces the previous one's codes).
                    guard row.state.status == .activated || (row.state.status == .approved && row.recoveringSerial != nil) else {
                        return RegistryChange(.limited)
                    }
                    let sent = row.recoveries.filter { now.timeIntervalSince($0) < RecoveryPolicy.window }
                    guard sent.count < RecoveryPolicy.emailsPerWindow else {
                        return RegistryChange(.limited, audit: [AuditRecord(at: now, actor: Self.subscriberActor, event: .recoveryRefused, token: token,
                                                                            detail: "\(sent.count) recovery emails in 24 h")])
                    }
                    row.state.status = .approved
                    row.state.identityFailures = 0
                    row.state.codes = CodesState(reference: reference, issuedAt: now)
                    row.recoveringSerial = row.recoveringSerial ?? row.certificateSerial
                    row.recoveries = sent + [now]
                    var change = RegistryChange(Outcome.sent, save: true, audit: [AuditRecord(
                        at: now, actor: Self.subscriberActor, event: .recoveryRequested, token: token,
                        detail: "new codes valid until \(Self.iso8601(expiresAt)); certificate \(row.certificateSerial ?? "?") kept until the new profile is confirmed")])
                    change.newCodes = NewCodes(reference: reference, sealedAuthorization: sealed, issuedAt: now)
                    change.mail = mail
                    return change
                }
            } catch is RegistryCollision {
                outcome = .collision
            }
            switch outcome {
            case .collision:
                continue
            case .limited:
                return
            case .sent:
                Self.logger.info("recovery email sent", metadata: ["token": "\(token.formatted)"])
                _ = await deliverCommitted(mail)
                return
            }
        }
        throw AuthorityError(.storage, "no free reference number found")
    }

    /// The holder of a new certificate confirmed it (its profile is written and logged in to): the
    /// certificate a recovery replaced is revoked now (reason superseded), never before.
    func completeRecovery(token: ApplicationToken, confirmedSerial: String) async throws {
        guard let row = try await registry.application(token: token) else { return }
        let old = row.recoveringSerial.flatMap { $0 != confirmedSerial && row.certificateSerial == confirmedSerial ? $0 : nil }
        guard let old else { return }
        try await revoke(.certificate(serial: old), reason: .superseded, actor: Self.subscriberActor)
        let now = configuration.time.now()
        try await registry.update(token: token) { row -> RegistryChange<Void> in
            row.recoveringSerial = nil
            return RegistryChange((), save: true, audit: [AuditRecord(at: now, actor: Self.subscriberActor, event: .recoveryCompleted, token: token,
                                                                      detail: "serial \(confirmedSerial) replaces \(old)")])
        }
    }
}
