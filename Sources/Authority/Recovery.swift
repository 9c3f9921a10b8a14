import Activation
import AuthorityInterface
import Foundation
import GRDB
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
        let candidate = try await registry.read { db -> Registry.ApplicationRow? in
            guard let token = try String.fetchOne(
                db, sql: """
                    SELECT token FROM application WHERE email = ? COLLATE NOCASE
                    AND (status = ? OR (status = ? AND recoveringSerial IS NOT NULL)) ORDER BY activatedAt DESC LIMIT 1
                    """,
                arguments: [address, ApplicationStatus.activated.rawValue, ApplicationStatus.approved.rawValue])
            else { return nil }
            return try Registry.application(db, token: ApplicationToken(parsing: token))
        }
        guard let before = candidate else {
            Self.logger.info("recovery asked for an address with no activated application")
            return
        }
        let token = before.token
        for _ in 0..<Self.collisionRetries {
            let reference = ReferenceNumber.generate(using: configuration.random)
            let sealed = try sealer.seal(AuthorizationCode.generate(using: configuration.random), for: token)
            let expiresAt = CodesState(reference: reference, issuedAt: now).expiresAt
            let mail = try mailer.prepare(
                .init(kind: .recovery, subscriber: before.subscriber, token: token, reference: reference, expiresAt: expiresAt),
                at: now, random: configuration.random)
            enum Outcome { case sent, limited, collision }
            let outcome: Outcome
            do {
                outcome = try await registry.immediate { db -> Outcome in
                    // Activated, or already in a recovery (a new email replaces the previous one's codes).
                    let recovering = try String.fetchOne(db, sql: "SELECT recoveringSerial FROM application WHERE token = ?", arguments: [token.value]) != nil
                    guard var row = try Registry.application(db, token: token),
                        row.state.status == .activated || (row.state.status == .approved && recovering)
                    else { return .limited }
                    let text = try String.fetchOne(db, sql: "SELECT recoveries FROM application WHERE id = ?", arguments: [row.id]) ?? "[]"
                    let sent = ((try? JSONDecoder().decode([Double].self, from: Data(text.utf8))) ?? [])
                        .filter { now.timeIntervalSince1970 - $0 < RecoveryPolicy.window }
                    guard sent.count < RecoveryPolicy.emailsPerWindow else {
                        try Registry.audit(db, at: now, actor: Self.subscriberActor, event: .recoveryRefused, token: token,
                                           detail: "\(sent.count) recovery emails in 24 h")
                        return .limited
                    }
                    if try Registry.referenceIsLive(db, reference) { return .collision }
                    try db.execute(sql: "UPDATE code SET superseded = 1 WHERE id = ?", arguments: [row.codeID])
                    row.codeID = try Registry.insertCodes(db, applicationID: row.id, reference: reference, sealed: sealed, issuedAt: now)
                    row.state.status = .approved
                    row.state.identityFailures = 0
                    row.state.codes = CodesState(reference: reference, issuedAt: now)
                    try Registry.save(db, row)
                    let recoveries = try JSONEncoder().encode(sent + [now.timeIntervalSince1970])
                    try db.execute(
                        sql: "UPDATE application SET recoveringSerial = COALESCE(recoveringSerial, certificateSerial), recoveries = ? WHERE id = ?",
                        arguments: [String(decoding: recoveries, as: UTF8.self), row.id])
                    try Registry.audit(db, at: now, actor: Self.subscriberActor, event: .recoveryRequested, token: token,
                                       detail: "new codes valid until \(Self.iso8601(expiresAt)); certificate \(row.certificateSerial ?? "?") kept until the new profile is confirmed")
                    return .sent
                }
            } catch {
                mail.discard()
                throw error
            }
            switch outcome {
            case .collision:
                mail.discard()
                continue
            case .limited:
                mail.discard()
                return
            case .sent:
                try mail.deliver()
                Self.logger.info("recovery email sent", metadata: ["token": "\(token.formatted)"])
                return
            }
        }
        throw AuthorityError(.storage, "no free reference number found")
    }

    /// The holder of a new certificate confirmed it (its profile is written and logged in to): the
    /// certificate a recovery replaced is revoked now (reason superseded), never before.
    func completeRecovery(token: ApplicationToken, confirmedSerial: String) async throws {
        let old = try await registry.read { db -> String? in
            guard let row = try Row.fetchOne(db, sql: "SELECT recoveringSerial, certificateSerial FROM application WHERE token = ?", arguments: [token.value]),
                let old = row["recoveringSerial"] as String?, (row["certificateSerial"] as String?) == confirmedSerial, old != confirmedSerial
            else { return nil }
            return old
        }
        guard let old else { return }
        try await revoke(.certificate(serial: old), reason: .superseded, actor: Self.subscriberActor)
        let now = configuration.time.now()
        try await registry.immediate { db in
            try db.execute(sql: "UPDATE application SET recoveringSerial = NULL WHERE token = ?", arguments: [token.value])
            try Registry.audit(db, at: now, actor: Self.subscriberActor, event: .recoveryCompleted, token: token,
                               detail: "serial \(confirmedSerial) replaces \(old)")
        }
    }
}
