import Foundation
import Testing

/// Several `paraphe` processes on one application at once.
@Suite(.serialized) struct RaceCLITests {
    @Test func concurrentWrongAnswersFromManyProcessesCountExactlyFive() async throws {
        let scratch = try Scratch()
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let answers = try scratch.file("answers", "Paris\nFido\nWrong\n")
        let password = try scratch.file("password", applicant.password)
        let arguments = [
            "activate", "--data-dir", scratch.dataDir, "--link", link, "--answers-file", answers,
            "--reference", reference, "--password-file", password,
        ]
        let processes = 9
        let results = try await withThrowingTaskGroup(of: RunResult.self) { group in
            for _ in 0..<processes { group.addTask { try paraphe(arguments) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0.status == 77 }, "\(results.map(\.stderr))")
        #expect(!results.contains { $0.stderr.contains("locked") && $0.stderr.contains("database") })
        let counted = results.filter { $0.stderr.contains("did not match") }.count
        let locked = results.filter { $0.stderr.contains("Your identity could not be confirmed after 5 attempts") }.count
        // Four failures report attempts left; the fifth locks; everyone after is told it is locked.
        #expect(counted == 4)
        #expect(locked == processes - 4)
        let show = try paraphe(["authority", "show", link, "--data-dir", scratch.dataDir, "--json"])
        #expect(show.stdout.contains("\"status\" : \"identityLocked\""))
        let audit = try paraphe(["authority", "audit", "--data-dir", scratch.dataDir, "--json"])
        // Five counted attempts: four failures and the fifth, which locked the application.
        #expect(audit.stdout.matches(of: /"event" : "identityFailed"/).count == 4)
        #expect(audit.stdout.matches(of: /"event" : "identityLocked"/).count == 1)
        #expect(show.stdout.contains("\"identityAttemptsRemaining\" : 0"))

        // Correct answers are refused from then on.
        let right = try scratch.file("right", applicant.answers.joined(separator: "\n"))
        let late = try paraphe([
            "activate", "--data-dir", scratch.dataDir, "--link", link, "--answers-file", right,
            "--reference", reference, "--password-file", password,
        ])
        #expect(late.status == 77)
        #expect(late.stderr.contains("new online application"))
    }

    @Test func twoActivationsRacingWithTheRightCodesIssueExactlyOneCertificate() async throws {
        let scratch = try Scratch()
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        let results = try await withThrowingTaskGroup(of: RunResult.self) { group in
            for index in 0..<2 {
                let arguments = [
                    "activate", "--data-dir", scratch.dataDir, "--link", link, "--answers-file", answers,
                    "--reference", reference, "--password-file", password, "--key", "p256",
                    "--profile-dir", scratch.url.appendingPathComponent("profiles-\(index)").path,
                ]
                group.addTask { try paraphe(arguments) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // One wins; the other is refused (codes used) — or, when it picked up the winner's parked key
        // (same workstation, same password), it is handed the very same certificate.
        #expect(results.allSatisfy { [0, 77].contains($0.status) } && results.contains { $0.status == 0 }, "\(results.map(\.stderr))")
        let fingerprints = Set(
            results.filter { $0.status == 0 }.compactMap { result in
                result.stdout.split(separator: "\n").first { $0.contains("SHA-256") }.map(String.init)
            })
        #expect(fingerprints.count == 1)
        #expect(!results.contains { $0.stderr.contains("database is locked") })
        let audit = try paraphe(["authority", "audit", "--data-dir", scratch.dataDir, "--json"]).stdout
        #expect(audit.matches(of: /"event" : "certificateIssued"/).count == 1)
    }
}
