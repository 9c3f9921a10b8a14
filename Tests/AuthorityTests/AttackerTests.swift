import Activation
import AuthorityInterface
import CMP
import Foundation
import Logging
import Synchronization
import Testing

@testable import Authority

/// What a stranger on the network can do to the authority's CMP endpoint (issue 22): nothing to someone
/// else's application, and only a few guesses from one address.
@Suite("CMP requests that prove no code")
struct SenderLimitTests {
    static let stranger = ClientAddress(ip: "198.51.100.7")
    static let kiosk = ClientAddress(ip: "203.0.113.20")

    /// A `p10cr` protected by the PBM keyed by `secret`, with `reference` as senderKID; Paraphe's sender token when given.
    static func request(reference: String, secret: String, token: ApplicationToken? = nil, iterations: Int = 1_000) throws -> [UInt8] {
        var message = PKIMessage(
            header: PKIHeader(
                sender: try token.map { try ParapheCMP.sender(token: $0.value) } ?? PKIHeader.nullDN, senderKID: Array(reference.utf8),
                transactionID: (0..<16).map { _ in UInt8.random(in: 0...255) }, senderNonce: (0..<16).map { _ in UInt8.random(in: 0...255) }),
            body: .p10cr(try TestKey().csr()))
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255) }
        try message.protect(with: PasswordBasedMACKey(secret: Array(secret.utf8), parameters: .make(salt: salt, iterations: iterations)))
        return try message.serialized()
    }

    /// The error an answer carries (nil for any other body), and whether the answer was protected.
    static func refusal(_ answer: [UInt8]) throws -> (status: PKIStatusInfo, protected: Bool)? {
        let message = try PKIMessage(derEncoded: answer)
        guard case .error(let content) = message.body else { return nil }
        return (content.pkiStatusInfo, message.protectionKind != .none)
    }

    @Test("six requests with a live reference number and a wrong code: the holder's codes are untouched, and the holder still enrolls")
    func strangersDoNotBurnCodes() async throws {
        let bed = TestBed(seed: 2201)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, code) = try await CertificateTests.readyToIssue(authority)
        let responder = CMPResponder(authority: authority, logger: Logger(label: "test"))
        for guess in 0..<6 {
            let answer = await responder.respond(
                to: try Self.request(reference: receipt.reference.digits, secret: "GUESS-\(guess)"), from: Self.stranger)
            let refused = try #require(try Self.refusal(answer))
            #expect(!refused.protected)
            // The 6th is refused before any lookup: the address used up its 5 failures (SenderPolicy).
            #expect(
                guess < SenderPolicy.failures
                    ? refused.status == CMPResponder.codesNotProved : refused.status.failInfo?.contains(.notAuthorized) == true)
        }
        // Naming the application (its link is not a secret) proves nothing either.
        let named = await responder.respond(
            to: try Self.request(reference: receipt.reference.digits, secret: "GUESS", token: receipt.token), from: ClientAddress(ip: "192.0.2.1"))
        #expect(try Self.refusal(named)?.status == CMPResponder.codesNotProved)
        let record = try await authority.record(for: receipt.token)
        #expect(record.wrongReferencesInARow == 0 && record.status == .approved)
        #expect(try await authority.auditLog().filter { $0.event == "referenceRejected" }.isEmpty)

        // The holder's kiosk (another address, naming its application) enrolls with the right code.
        let answer = await responder.respond(
            to: try Self.request(reference: receipt.reference.digits, secret: code.revealed, token: receipt.token), from: Self.kiosk)
        #expect(try PKIMessage(derEncoded: answer).body.name == "cp")
        #expect(try await authority.record(for: receipt.token).status == .activated)
    }

    @Test("a PBM iteration count above 10,000 is refused before any derivation, and counts against nobody")
    func costlyProtectionIsRefused() async throws {
        let bed = TestBed(seed: 2204)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, code) = try await CertificateTests.readyToIssue(authority)
        let responder = CMPResponder(authority: authority, logger: Logger(label: "test"))
        for _ in 0..<6 {
            let answer = await responder.respond(
                to: try Self.request(reference: receipt.reference.digits, secret: code.revealed, iterations: 10_001), from: Self.stranger)
            let refused = try #require(try Self.refusal(answer))
            #expect(refused.status.failInfo?.contains(.badMessageCheck) == true && !refused.protected, "\(refused.status)")
        }
        #expect(try await authority.senderRefusedUntil(Self.stranger) == nil)
        #expect(try await authority.record(for: receipt.token).wrongReferencesInARow == 0)
        // 10,000 is accepted.
        let answer = await responder.respond(
            to: try Self.request(reference: receipt.reference.digits, secret: code.revealed, iterations: 10_000), from: Self.stranger)
        #expect(try PKIMessage(derEncoded: answer).body.name == "cp")
    }

    @Test("a live reference number and an unknown one get the same answer, so live ones cannot be listed")
    func unknownAndLiveReferencesAnswerAlike() async throws {
        let bed = TestBed(seed: 2202)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let (receipt, _) = try await CertificateTests.readyToIssue(authority)
        let responder = CMPResponder(authority: authority, logger: Logger(label: "test"))
        let unknown = try otherReference(than: receipt.reference)
        #expect(try await authority.registry.tokenOfLiveReference(unknown) == nil)
        let live = try #require(
            try Self.refusal(await responder.respond(to: try Self.request(reference: receipt.reference.digits, secret: "X"), from: Self.stranger)))
        let dead = try #require(
            try Self.refusal(await responder.respond(to: try Self.request(reference: unknown.digits, secret: "X"), from: Self.stranger)))
        #expect(live.status == dead.status && live.status.statusString == dead.status.statusString && live.protected == dead.protected)
        // An unknown application named by a sender token: the same again.
        let stray = try #require(
            try Self.refusal(
                await responder.respond(
                    to: try Self.request(
                        reference: receipt.reference.digits, secret: "X", token: try ApplicationToken(parsing: "ZZZZ-ZZZZ-ZZZZ-ZZZZ")),
                    from: Self.stranger)))
        #expect(stray.status == live.status)
    }

    @Test("5 failed token-less requests from one address refuse its next ones for 15 minutes, through any instance, even with the right codes")
    func guessingReferenceNumbersIsLimitedPerAddress() async throws {
        let bed = TestBed(seed: 2203)
        defer { bed.remove() }
        let first = try await bed.authority()
        let second = try await bed.authority()  // another instance on the same registry
        let (receipt, code) = try await CertificateTests.readyToIssue(first)
        let responders = [first, second].map { CMPResponder(authority: $0, logger: Logger(label: "test")) }
        // With the code, guessing reference numbers: unknown ones are counted against the address.
        var guesses = 0
        var candidate = 100_000_000
        while guesses < SenderPolicy.failures {
            candidate += 1
            let digits = String(candidate)
            guard let reference = try? ReferenceNumber(parsing: digits), reference != receipt.reference else { continue }
            let answer = await responders[guesses % 2].respond(
                to: try Self.request(reference: reference.digits, secret: code.revealed), from: Self.stranger)
            #expect(try Self.refusal(answer)?.status == CMPResponder.codesNotProved)
            guesses += 1
        }
        // The right reference now: refused, through either instance; nothing issued, nothing counted.
        for responder in responders {
            let answer = await responder.respond(
                to: try Self.request(reference: receipt.reference.digits, secret: code.revealed), from: Self.stranger)
            let refused = try #require(try Self.refusal(answer))
            #expect(refused.status.failInfo?.contains(.notAuthorized) == true && !refused.protected, "\(refused.status)")
        }
        #expect(try await first.record(for: receipt.token).status == .approved)
        // Another address is not concerned; an IPv6 neighbour in the same /64 is the same client.
        #expect(ClientAddress(ip: "2001:db8:1:2::1") == ClientAddress(ip: "2001:db8:1:2:ffff::9"))
        #expect(ClientAddress(ip: "2001:db8:1:2::1") != ClientAddress(ip: "2001:db8:1:3::1"))
        #expect(ClientAddress(ip: "::ffff:198.51.100.7") == Self.stranger)
        // A kiosk behind the same address names its application: not refused.
        let named = await responders[1].respond(
            to: try Self.request(reference: receipt.reference.digits, secret: code.revealed, token: receipt.token), from: Self.stranger)
        #expect(try PKIMessage(derEncoded: named).body.name == "cp")

        // 15 minutes after the first failure, the address may try again.
        let (other, otherCode) = try await CertificateTests.readyToIssue(
            first, Subscriber(name: "Luc Gagnon", email: "luc@example.com", language: .fr))
        let refusedStill = await responders[0].respond(
            to: try Self.request(reference: other.reference.digits, secret: otherCode.revealed), from: Self.stranger)
        #expect(try Self.refusal(refusedStill)?.status.failInfo?.contains(.notAuthorized) == true)
        bed.time.advance(by: SenderPolicy.window + 1)
        let later = await responders[0].respond(
            to: try Self.request(reference: other.reference.digits, secret: otherCode.revealed), from: Self.stranger)
        #expect(try PKIMessage(derEncoded: later).body.name == "cp")
    }
}

/// Issue 22, hole 13: the registry's traffic never goes in clear over a network.
@Suite("Database URL")
struct DatabaseURLTests {
    @Test func sslmodeDisableIsRefusedForARemoteHostOnly() throws {
        #expect(throws: AuthorityError.self) { try PostgresLocation(parsing: "postgres://paraphe@db.example.org:5432/paraphe?sslmode=disable") }
        #expect(throws: AuthorityError.self) { try PostgresLocation(parsing: "postgres://paraphe@10.0.0.5/paraphe?sslmode=disable") }
        #expect(try PostgresLocation(parsing: "postgres://paraphe@db.example.org/paraphe").requireTLS)
        #expect(try !PostgresLocation(parsing: "postgres://paraphe@127.0.0.1:5433/paraphe?sslmode=disable").requireTLS)
        #expect(try !PostgresLocation(parsing: "postgres://paraphe@localhost/paraphe").requireTLS)
        #expect(try !PostgresLocation(parsing: "postgres://paraphe@/paraphe?host=/run/postgresql&sslmode=disable").requireTLS)
        #expect(throws: AuthorityError.self) { try PostgresLocation(parsing: "postgres://paraphe:secret@127.0.0.1/paraphe") }
    }
}

/// Issue 22, hole 7: the costly work runs on a bounded set of threads with a short queue.
@Suite("CPU workers")
struct CPUWorkerTests {
    @Test("2 workers and a queue of 2: of 8 jobs at once, 4 run (2 at a time) and 4 are refused as busy at once")
    func jobsBeyondTheQueueAreRefused() async throws {
        final class Peak: Sendable { let state = Mutex((now: 0, most: 0)) }
        let workers = CPUWorkers(workers: 2, queueLimit: 2)
        let peak = Peak()
        let outcomes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        return try await workers.run {
                            peak.state.withLock {
                                $0.now += 1
                                $0.most = max($0.most, $0.now)
                            }
                            Thread.sleep(forTimeInterval: 0.3)
                            peak.state.withLock { $0.now -= 1 }
                            return "ran"
                        }
                    } catch let error as AuthorityError where error.code == .busy {
                        return "busy"
                    } catch {
                        return "other"
                    }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == "ran" }.count == 4 && outcomes.filter { $0 == "busy" }.count == 4, "\(outcomes)")
        #expect(peak.state.withLock { $0.most } == 2, "never more than the workers at once")
        #expect(workers.load == (0, 0))
        // Free again: the next job runs.
        #expect(try await workers.run { "again" } == "again")
    }
}
