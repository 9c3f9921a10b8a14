import Activation
import Authority
import Foundation
import Keystore
import PasswordQuality
import Synchronization
import Workstation

/// Not a row of the table: where the time of `paraphe activate` goes, for the "what is in the way"
/// notes. Replays `ActivateCommand`'s path in process with the product's public API (fresh
/// application each run, 600,000 iterations everywhere; key preparation during the identity check,
/// as the command does) and times each phase, then times the
/// building blocks alone: one PBKDF2 at 600,000 iterations, two at once (one per core), RSA-2048
/// key generation, PKCS#12 write and read.
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
        try await Components(paths: paths, authority: setup).installActivationManager()

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
            let activator = Activator(paths: paths, authority: authority, cost: .standard)
            let opened = nanoseconds()
            let overview = try await authority.overview(of: receipt.token)
            let lookedUp = nanoseconds()
            // As `paraphe activate` does: the key is generated and the parking key derived during the identity check.
            let token = overview.token
            let preparing = Task { try activator.prepareKey(token: token, password: password, algorithm: .rsa2048) }
            let identity = try await authority.verifyIdentity(token: receipt.token, answers: answers)
            let prepared = try await preparing.value
            let verified = nanoseconds()
            let reports = await Components(paths: paths, authority: authority).check()
            guard reports.allInstalled else { throw BenchError("components not installed") }
            let checked = nanoseconds()
            try PasswordPolicy(checker: PWQualityChecker()).validate(
                password, confirmation: password, name: identity.subscriber.name, email: identity.subscriber.email)
            let validated = nanoseconds()
            let marks = Marks()
            _ = try await activator.activate(ActivationRequest(
                token: overview.token, subscriber: identity.subscriber, reference: receipt.reference,
                authorization: identity.authorization, password: password), prepared: prepared) { marks.add($0) }
            let end = nanoseconds()
            guard run > 0 else { continue }
            guard let generating = marks.time(of: .generatingKey), let requesting = marks.time(of: .requestingCertificate),
                let writing = marks.time(of: .writingProfile), let login = marks.time(of: .loggingIn)
            else { throw BenchError("missing progress marks") }
            add("1 open authority (registry, CA)", opened - start)
            add("2 overview (lookup)", lookedUp - opened)
            add("3 identity check (3 PBKDF2) ‖ RSA key + parking PBKDF2", verified - lookedUp)
            add("4 components (trust store + keystore self-test)", checked - verified)
            add("5 password policy (libpwquality)", validated - checked)
            add("6 park the prepared key (seal, atomic write)", requesting - generating)
            add("7 CSR + issuance (authority)", writing - requesting)
            add("8 PKCS#12 write + files (its KDFs in parallel, fsync)", login - writing)
            add("9 login (PKCS#12 read: its KDFs in parallel, chain)", end - login)
            add("total in process", end - start)
        }

        // Building blocks.
        var blocks: [String: Samples] = [:]
        let p256 = try SigningKey.generate(.p256)
        for _ in 0..<max(3, runs) {
            blocks["PBKDF2-HMAC-SHA256 600k (one)", default: Samples()].add(try timed {
                _ = try EncryptedPrivateKey.encrypt(p256, password: password.revealed, cost: .standard)
            })
            blocks["PBKDF2-HMAC-SHA256 600k (two at once)", default: Samples()].add(try timed {
                try await2 { _ = try EncryptedPrivateKey.encrypt(p256, password: password.revealed, cost: .standard) }
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
