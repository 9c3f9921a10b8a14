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
    /// "Recover my digital signature": records the request (`enqueueRecovery`) and handles it at once
    /// (`processRecoveryRequests`): the embedded mode's way, where the person waits for the email.
    public func requestRecovery(email: String) async throws {
        try await enqueueRecovery(email: email)
        await processRecoveryRequests()
    }

    /// The service's half of a recovery request: records the address typed and returns.
    ///
    /// The same one insert whatever the address, so neither the answer nor its timing tells whether an
    /// application has it; the request is handled after the answer (`processRecoveryRequests`).
    public func enqueueRecovery(email: String) async throws {
        let address = email.trimmingCharacters(in: .whitespacesAndNewlines)
        guard address.utf8.count <= 254 else { return }
        try await registry.enqueueRecoveryRequest(email: address, at: now)
    }

    /// Takes the recovery requests waiting (those of any instance) and handles each: if an activated application (or
    /// one already in a recovery) has the address, a "Digital Signature : Recovery" email goes out with the link and
    /// the reference number of a **pending** recovery — at most 3 in 24 hours.
    ///
    /// Nothing else changes: the application's certificate, its holder's powers, its identity attempts and its live
    /// codes change only when the link's identity check passes (`verifyIdentity`), and the pending recovery lapses
    /// after 15 days. Returns how many were handled.
    @discardableResult
    public func processRecoveryRequests() async -> Int {
        var handled = 0
        while true {
            let requests: [RecoveryRequest]
            do {
                requests = try await registry.claimRecoveryRequests(at: now, lease: Self.recoveryRequestLease, limit: 50)
            } catch {
                Self.logger.warning("the recovery requests cannot be read; they wait", metadata: ["reason": "\(error)"])
                return handled
            }
            if requests.isEmpty { return handled }
            for request in requests {
                do {
                    try await prepareRecovery(request)
                    handled += 1
                } catch {
                    // It stays in the queue: taken again, here or by another instance, when its lease runs out.
                    Self.logger.warning("a recovery request could not be handled; it waits", metadata: ["reason": "\(error)"])
                }
            }
        }
    }

    /// How long a recovery request taken by an instance is its own before another may take it (its handler died).
    static let recoveryRequestLease: TimeInterval = 60

    private func prepareRecovery(_ request: RecoveryRequest) async throws {
        let address = request.email
        guard Subscriber.looksLikeEmail(address) else { return try await registry.finishRecoveryRequest(request.id) }
        let now = self.now
        guard let token = try await registry.recoveryCandidate(email: address), let before = try await registry.application(token: token) else {
            Self.logger.info("recovery asked for an address with no activated application")
            return try await registry.finishRecoveryRequest(request.id)
        }
        let reference = ReferenceNumber.generate(using: random)
        let sealed = try sealer.seal(AuthorizationCode.generate(using: random), for: token)
        let expiresAt = CodesState(reference: reference, issuedAt: now).expiresAt
        let mail = try mailer.prepare(
            .init(kind: .recovery, subscriber: before.subscriber, token: token, reference: reference, expiresAt: expiresAt),
            at: now, random: random)
        // Whatever the rules decide, the change answers the request (it leaves the queue in the same transaction).
        @Sendable func decide(_ row: inout ApplicationRow) -> RegistryChange<Bool> {
            // Activated, or already in a recovery (a new email replaces the pending codes; the live ones stay).
            guard row.state.status == .activated || (row.state.status == .approved && row.recoveringSerial != nil) else {
                return RegistryChange(false)
            }
            let sent = row.recoveries.filter { now.timeIntervalSince($0) < RecoveryPolicy.window }
            guard sent.count < RecoveryPolicy.emailsPerWindow else {
                return RegistryChange(
                    false,
                    audit: [
                        AuditRecord(
                            at: now, actor: Self.subscriberActor, event: .recoveryRefused, token: token,
                            detail: "\(sent.count) recovery emails in 24 h")
                    ])
            }
            row.recoveries = sent + [now]
            row.state.recoveryRequestedAt = now
            row.recoveryCodes = (reference, sealed)
            var change = RegistryChange(
                true, save: true,
                audit: [
                    AuditRecord(
                        at: now, actor: Self.subscriberActor, event: .recoveryRequested, token: token,
                        detail: "recovery email sent, valid until \(Self.iso8601(expiresAt)); nothing changes until its identity check passes")
                ])
            change.mail = mail
            return change
        }
        let sent = try await registry.update(token: token) { row -> RegistryChange<Bool> in
            var change = decide(&row)
            change.answersRecoveryRequest = request.id
            return change
        }
        guard sent else { return }
        Self.logger.info("recovery email sent", metadata: ["application": "\(digest(token))"])
        _ = await deliverCommitted(mail)
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
            return RegistryChange(
                (), save: true,
                audit: [
                    AuditRecord(
                        at: now, actor: Self.subscriberActor, event: .recoveryCompleted, token: token,
                        detail: "serial \(confirmedSerial) replaces \(old)")
                ])
        }
    }
}
