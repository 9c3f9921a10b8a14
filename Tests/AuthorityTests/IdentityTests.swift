import Activation
import AuthorityInterface
import Foundation
import GRDB
import Testing

@testable import Authority

@Suite("Identity check")
struct IdentityTests {
    @Test("3 of 3 and 2 of 3 answers pass, ignoring case, accents and extra blanks; no attempt is used")
    func rightAnswersPass() async throws {
        let bed = TestBed(seed: 21)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let receipt = try await authority.approve(Sample.request())

        let all = try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers)
        #expect(all.subscriber == Sample.subscriber)
        #expect(all.authorization.revealed.count == 16)
        #expect(all.codesIssuedAt == TestBed.start)
        #expect(all.codesExpireAt == receipt.expiresAt)
        #expect(!all.renewalNeeded && all.renewalReason == nil)

        let normalized = [SecurityAnswer("  MONTREAL "), SecurityAnswer("zephyrin   quokkabert"), SecurityAnswer("wrong")]
        let two = try await authority.verifyIdentity(token: receipt.token, answers: normalized)
        #expect(two.authorization == all.authorization)

        // A blank answer is allowed: it just does not match.
        let blank = [SecurityAnswer(""), SecurityAnswer("Zéphyrin Quokkabert"), SecurityAnswer("RAMBOUTAN xylophage")]
        _ = try await authority.verifyIdentity(token: receipt.token, answers: blank)

        #expect(try await authority.record(for: receipt.token).identityAttemptsRemaining == 5)
        #expect(try await authority.auditLog().filter { $0.event == "identityVerified" }.count == 3)
    }

    @Test("1 of 3 fails with 4, 3, 2, 1 attempts left, locks at the 5th, survives a restart, then refuses correct answers")
    func failuresLock() async throws {
        let bed = TestBed(seed: 22)
        defer { bed.remove() }
        var authority = try await bed.authority()
        let receipt = try await authority.approve(Sample.request())

        for expected in [4, 3] {
            #expect(
                await activationCode { try await authority.verifyIdentity(token: receipt.token, answers: Sample.wrongAnswers) }
                    == .wrongAnswers(remaining: expected))
        }
        // A new instance (as after quitting the program) keeps the count.
        authority = try await bed.authority()
        #expect(try await authority.overview(of: receipt.token).identityAttemptsRemaining == 3)
        for expected in [2, 1] {
            #expect(
                await activationCode { try await authority.verifyIdentity(token: receipt.token, answers: Sample.wrongAnswers) }
                    == .wrongAnswers(remaining: expected))
        }
        #expect(
            await activationCode { try await authority.verifyIdentity(token: receipt.token, answers: Sample.wrongAnswers) }
                == .identityLocked)
        // 6th, with the right answers: refused.
        #expect(
            await activationCode { try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers) }
                == .identityLocked)
        authority = try await bed.authority()
        #expect(
            await activationCode { try await authority.verifyIdentity(token: receipt.token, answers: Sample.rightAnswers) }
                == .identityLocked)

        let overview = try await authority.overview(of: receipt.token)
        #expect(overview.status == .identityLocked)
        #expect(overview.identityAttemptsRemaining == 0)
        let events = try await authority.auditLog().map(\.event).filter { $0.hasPrefix("identity") }
        #expect(events == Array(repeating: "identityFailed", count: 4) + ["identityLocked"])
        let details = try await authority.auditLog().filter { $0.event == "identityFailed" }.map(\.detail)
        #expect(details == ["remaining 4", "remaining 3", "remaining 2", "remaining 1"])
    }

    @Test("8 instances racing with wrong answers count exactly 5 failures, and only answer refusals surface")
    func concurrentFailuresAreAllCounted() async throws {
        let bed = TestBed(seed: 23)
        defer { bed.remove() }
        let receipt = try await bed.authority().approve(Sample.request())
        let token = receipt.token

        let outcomes = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    // Each task opens its own instance: its own SQLite connections, as another process would.
                    let authority = try await bed.authority()
                    var seen: [String] = []
                    for _ in 0..<10 {
                        do {
                            _ = try await authority.verifyIdentity(token: token, answers: Sample.wrongAnswers)
                            seen.append("verified")
                        } catch let error as ActivationError {
                            switch error.code {
                            case .wrongAnswers: seen.append("wrong")
                            case .identityLocked:
                                seen.append("locked")
                                return seen
                            default: seen.append("unexpected \(error.code)")
                            }
                        } catch {
                            seen.append("unexpected \(error)")
                        }
                    }
                    return seen
                }
            }
            var all: [[String]] = []
            for try await seen in group { all.append(seen) }
            return all
        }
        let flat = outcomes.flatMap { $0 }
        #expect(flat.filter { $0.hasPrefix("unexpected") || $0 == "verified" }.isEmpty, "\(flat)")
        #expect(flat.filter { $0 == "wrong" }.count == 4)
        #expect(outcomes.allSatisfy { $0.last == "locked" })

        let authority = try await bed.authority()
        let record = try await authority.record(for: token)
        #expect(record.status == .identityLocked)
        #expect(record.identityAttemptsRemaining == 0)
        let audit = try await authority.auditLog()
        #expect(audit.filter { $0.event == "identityFailed" }.count == 4)
        #expect(audit.filter { $0.event == "identityLocked" }.count == 1)
        #expect(Set(audit.filter { $0.event == "identityFailed" }.map(\.detail)) == ["remaining 4", "remaining 3", "remaining 2", "remaining 1"])
    }

    @Test("answers hashed at 600,000 iterations keep their count, and still verify after the setting changes", .enabled(if: !TestDatabase.isPostgres))
    func defaultIterations() async throws {
        let bed = TestBed(seed: 24, iterations: 600_000)
        defer { bed.remove() }
        let authority = try EmbeddedAuthority(
            configuration: AuthorityConfiguration(
                dataDirectory: bed.directory, time: bed.time, random: bed.random))
        #expect(authority.configuration.answerHashIterations == 600_000)
        let receipt = try await authority.approve(Sample.request())

        let stored = try await authority.sqlite.read { db in
            try Row.fetchAll(db, sql: "SELECT iterations, length(salt) AS saltLength, length(hash) AS hashLength FROM question")
                .map { [$0["iterations"], $0["saltLength"], $0["hashLength"]] as [Int] }
        }
        #expect(stored == Array(repeating: [600_000, 16, 32], count: 3))

        // An instance configured with another cost verifies old hashes with their own count.
        let cheaper = try EmbeddedAuthority(
            configuration: AuthorityConfiguration(
                dataDirectory: bed.directory, answerHashIterations: 1_000, time: bed.time, random: bed.random))
        #expect(cheaper.configuration.answerHashIterations == 1_000)
        _ = try await cheaper.verifyIdentity(
            token: receipt.token, answers: [SecurityAnswer("montreal"), SecurityAnswer("x"), SecurityAnswer("ramboutan xylophage")])
    }

    @Test("over-long answers are refused without using an attempt")
    func longAnswer() async throws {
        let bed = TestBed(seed: 25)
        defer { bed.remove() }
        let authority = try await bed.authority()
        let receipt = try await authority.approve(Sample.request())
        let long = [SecurityAnswer(String(repeating: "a", count: 129)), SecurityAnswer("b"), SecurityAnswer("c")]
        #expect(
            await activationCode { try await authority.verifyIdentity(token: receipt.token, answers: long) }
                == .invalidInput(field: .answer, problem: .tooLong))
        #expect(
            (await caught { try await authority.verifyIdentity(token: receipt.token, answers: [SecurityAnswer("a")]) } as? AuthorityError)?.code
                == .badRequest)
        #expect(try await authority.record(for: receipt.token).identityAttemptsRemaining == 5)
    }
}
