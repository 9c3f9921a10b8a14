import Activation
import CMP
import Foundation
import Synchronization

/// The CMP enrollments this process answered with a certificate and whose `certConf` has not come yet: the
/// transaction, the PBM key its request verified with, and the certificate issued.
///
/// A `certConf` reaching the process that answered its request is checked against its entry — the same transaction,
/// the same reference number (`senderKID`, which any client sends again), a MAC that verifies under the same key and
/// parameters — and is then confirmed without reading the application again or deriving the key again (one database
/// round trip and one derivation fewer an enrollment). Anything else (no entry: another instance answered the request, or the entry expired; a MAC that does
/// not verify) takes the ordinary way, which reads the application and its code. So it is an optimisation, never a
/// state the protocol depends on: any instance still answers any message.
///
/// Why it is safe: an entry is made only after the request's MAC verified with the application's code and a
/// certificate was issued, and it is used only by a message that proves the same key (whose work per guess is the
/// PBM's iteration count, as before); what the entry holds is what the registry held when the certificate was
/// issued. Memory only, bounded (`capacity`), and an entry goes when used, or at most a second after its `lifetime`.
final class AwaitingConfirmations: Sendable {
    struct Entry: Sendable {
        let key: PasswordBasedMACKey
        let token: ApplicationToken
        let reference: ReferenceNumber
        let serial: String
        let certificateDER: [UInt8]
    }

    /// The transaction and the reference number the request named (`senderKID`), which every client's certConf
    /// names again (Paraphe's and OpenSSL's alike).
    private struct Lookup: Hashable {
        let transactionID: [UInt8]
        let reference: ReferenceNumber
    }

    private struct Entries {
        var awaiting: [Lookup: (entry: Entry, expires: Date)] = [:]
        var lastSweep = Date.distantPast

        /// Drops the expired entries (at most once a second: a sweep walks them all).
        mutating func sweep(at now: Date) {
            guard now.timeIntervalSince(lastSweep) >= 1 || now < lastSweep else { return }
            awaiting = awaiting.filter { $0.value.expires > now }
            lastSweep = now
        }
    }

    private let entries = Mutex(Entries())
    private let capacity: Int
    private let lifetime: TimeInterval
    private let now: @Sendable () -> Date

    /// `now`: the clock the lifetimes run on (the authority's injected one).
    init(capacity: Int = 4_096, lifetime: TimeInterval = 300, now: @escaping @Sendable () -> Date) {
        self.capacity = capacity
        self.lifetime = lifetime
        self.now = now
    }

    /// Entries kept now (expired ones dropped first): the figure `/metrics` shows.
    var count: Int {
        let now = now()
        return entries.withLock { entries in
            entries.sweep(at: now)
            return entries.awaiting.count
        }
    }

    /// Keeps the confirmation `transactionID` awaits.
    func keep(_ entry: Entry, transactionID: [UInt8]) {
        let now = now()
        entries.withLock { entries in
            entries.sweep(at: now)
            if entries.awaiting.count >= capacity { entries.awaiting.removeAll(keepingCapacity: true) }
            entries.awaiting[Lookup(transactionID: transactionID, reference: entry.reference)] = (entry, now + lifetime)
        }
    }

    /// The entry `confirmation` answers, removed, if it names the transaction and the reference number of one and its
    /// PBM verifies under the entry's key with the same parameters; nil otherwise (the entry, if any, stays).
    func take(_ confirmation: PKIMessage) -> Entry? {
        guard let transactionID = confirmation.header.transactionID, let parameters = confirmation.passwordBasedMAC,
            let kid = confirmation.header.senderKID, let text = String(bytes: kid, encoding: .utf8),
            let reference = try? ReferenceNumber(parsing: text)
        else { return nil }
        let lookup = Lookup(transactionID: transactionID, reference: reference)
        let now = now()
        let found = entries.withLock { entries in
            entries.sweep(at: now)
            return entries.awaiting[lookup]
        }
        guard let found, found.expires > now, found.entry.key.parameters == parameters,
            (try? confirmation.verifyProtection(key: found.entry.key)) != nil
        else { return nil }
        // Removed once proved (a MAC that fails leaves it to its own transaction); a second certConf of the
        // transaction takes the ordinary way.
        let taken = entries.withLock { $0.awaiting.removeValue(forKey: lookup) }
        return taken?.entry
    }
}
