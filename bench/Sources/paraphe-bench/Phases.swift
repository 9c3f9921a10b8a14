import Activation
import Authority
import AuthorityInterface
import _CryptoExtras
import Foundation
import Keystore
import PasswordQuality
import Synchronization
import Workstation

/// Not a row of the table: where the time of `paraphe activate` goes, for the "what is in the way"
/// notes. Replays `ActivateCommand`'s path in process through the one pipeline, `ActivationService`
/// (fresh application each run, 600,000 iterations everywhere; the key generated during the identity
/// check, as the command does) and times each phase, then times the building blocks alone: one
/// PBKDF2 at 600,000 iterations, two at once (one per core), RSA-2048 key generation.
enum PhaseBenchmark {
    static let answers = ["Montréal", "Lyon", "Bubu"].map(SecurityAnswer.init)
    static let password = Password("Quartz-Lantern-Orbit-73")

    final class Marks: Sendable {
        private let marks = Mutex<[(ActivationProgress, UInt64)]>([])
        func add(_ phase: ActivationProgress) { marks.withLock { $0.append((phase, nanoseconds())) } }
        func time(of phase: ActivationProgress) -> UInt64? { marks.withLock { list in list.first { $0.0 == phase }?.1 } }
    }

    static func run(runs: Int, scratch: URL) async throws -> [String: Any] {
        let data = scratch.appendingPathComponent("data")
        let profiles = scratch.appendingPathComponent("profiles")
        let setup = try EmbeddedAuthority(configuration: AuthorityConfiguration(dataDirectory: data, operatorName: "bench"))
        let paths = WorkstationPaths(dataDirectory: data, profileDirectory: profiles)
        let policy = PasswordPolicy(checker: PWQualityChecker())
        try await ActivationService(authority: setup, paths: paths, passwordPolicy: policy).installActivationManager()

        var phases: [String: Samples] = [:]
        func add(_ name: String, _ value: UInt64) { phases[name, default: Samples()].add(value) }
        for run in 0...runs {  // run 0 warms up
            let receipt = try await setup.approve(ApprovalRequest(
                subscriber: Subscriber(name: "Jeanne Tremblay", email: "jeanne.tremblay@example.com", language: .en),
                questions: ["Q1?", "Q2?", "Q3?"], answers: answers))
            try? FileManager.default.removeItem(at: profiles)
            try FileManager.default.createDirectory(at: profiles, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])

            let start = nanoseconds()
            let authority = try EmbeddedAuthority(configuration: AuthorityConfiguration(dataDirectory: data))
            let service = ActivationService(authority: authority, paths: paths, passwordPolicy: policy)
            let opened = nanoseconds()
            let lookup = try await service.lookUp(receipt.token)
            let lookedUp = nanoseconds()
            // As `paraphe activate` does: the key is generated during the identity check.
            let identity = try await service.verifyIdentity(token: lookup.overview.token, answers: answers, pregenerate: .rsa2048)
            let verified = nanoseconds()
            let reports = await service.checkComponents()
            guard reports.allInstalled else { throw BenchError("components not installed") }
            let checked = nanoseconds()
            try service.checkPassword(password, confirmation: password, for: identity.subscriber)
            let validated = nanoseconds()
            let marks = Marks()
            let files = try await service.activate(ActivationRequest(
                token: lookup.overview.token, subscriber: identity.subscriber, reference: receipt.reference,
                authorization: identity.authorization, password: password, keyAlgorithm: .rsa2048)) { marks.add($0) }
            let written = nanoseconds()
            _ = try await service.logIn(profile: files.profile, password: password)
            let end = nanoseconds()
            guard run > 0 else { continue }
            guard let generating = marks.time(of: .generatingKey), let requesting = marks.time(of: .requestingCertificate),
                let writing = marks.time(of: .writingProfile)
            else { throw BenchError("missing progress marks") }
            add("1 open authority (registry, CA)", opened - start)
            add("2 look up (overview + local state)", lookedUp - opened)
            add("3 identity check (3 PBKDF2) ‖ RSA key generation", verified - lookedUp)
            add("4 components (trust store + keystore self-test)", checked - verified)
            add("5 password policy (libpwquality)", validated - checked)
            add("6 the profile's two KDFs (in parallel) + park the key sealed under the bags' key", requesting - generating)
            add("7 CSR + issuance (authority)", writing - requesting)
            add("8 PKCS#12 write + files (keys derived in 6; fsync)", written - writing)
            add("9 login (PKCS#12 read, MAC, decrypt, chain; derivations of 6 reused)", end - written)
            add("total in process", end - start)
        }

        // Building blocks.
        var blocks: [String: Samples] = [:]
        let salt = (0..<16).map { UInt8($0) }
        let secret = Array(password.revealed.utf8)
        @Sendable func pbkdf2() throws {
            _ = try KDF.Insecure.PBKDF2.deriveKey(
                from: secret, salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: KDFCost.standard.iterations)
        }
        for _ in 0..<max(3, runs) {
            blocks["PBKDF2-HMAC-SHA256 600k (one)", default: Samples()].add(try timed {
                try pbkdf2()
            })
            blocks["PBKDF2-HMAC-SHA256 600k (two at once)", default: Samples()].add(try timed {
                try await2 { try pbkdf2() }
            })
            blocks["RSA-2048 key generation", default: Samples()].add(try timed { _ = try SigningKey.generate(.rsa2048) })
        }
        note("phases of paraphe activate (in process, \(runs) runs, medians):")
        for (name, samples) in phases.sorted(by: { $0.key < $1.key }) {
            note("  " + name.padding(toLength: 66, withPad: " ", startingAt: 0) + String(format: " %8.1f ms", Double(samples.percentile(50)) / 1e6))
        }
        for (name, samples) in blocks.sorted(by: { $0.key < $1.key }) {
            note("  " + name.padding(toLength: 66, withPad: " ", startingAt: 0)
                + String(format: " %8.1f ms (min %.1f)", Double(samples.percentile(50)) / 1e6, Double(samples.values.min() ?? 0) / 1e6))
        }
        var result: [String: Any] = ["measure": "phases", "runs": runs]
        result["phases_median_ms"] = phases.mapValues { milliseconds($0.percentile(50)) }
        result["blocks_median_ms"] = blocks.mapValues { milliseconds($0.percentile(50)) }
        result["blocks_min_ms"] = blocks.mapValues { milliseconds($0.values.min() ?? 0) }
        return result
    }

    /// Runs `body` twice at once, on two threads.
    static func await2(_ body: @escaping @Sendable () throws -> Void) throws {
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            do { try body() } catch { failures.withLock { $0 += 1 } }
        }
        if failures.withLock({ $0 }) > 0 { throw BenchError("a concurrent job failed") }
    }
}
