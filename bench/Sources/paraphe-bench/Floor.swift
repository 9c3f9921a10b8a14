import _CryptoExtras
import Foundation
import Keystore
import Synchronization

/// Row: `paraphe activate` against its floor — the computations it cannot skip, on the two cores it has: the identity
/// check's three answer hashes (PBKDF2-HMAC-SHA256, 600,000 iterations each, one after the other, as the authority's
/// one job for a check computes them) on one thread, and meanwhile, on the other, the RSA-2048 key and the profile's two
/// derivations (the bags' PBKDF2 and the PKCS#12 MAC key, 600,000 each, by the product's own functions). A process of
/// its own (what `bench/run` times with hyperfine, alternated with `activate`, so both pay a start).
enum FloorBenchmark {
    static func run() throws -> [String: Any] {
        let password = "Quartz-Lantern-Orbit-73"
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255) }
        let cost = KDFCost.standard
        let chains: [@Sendable () throws -> Void] = [
            {
                for _ in 0..<3 {
                    _ = try KDF.Insecure.PBKDF2.deriveKey(
                        from: Array("montreal".utf8), salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: cost.iterations)
                }
            },
            {
                _ = try SigningKey.generate(.rsa2048)
                _ = try ProfileKDF.bagKey(password: password, salt: salt, cost: cost)
                _ = try ProfileKDF.macKey(password: password, salt: salt, cost: cost)
            },
        ]
        let failures = Mutex(0)
        let start = nanoseconds()
        DispatchQueue.concurrentPerform(iterations: chains.count) { index in
            do { try chains[index]() } catch { failures.withLock { $0 += 1 } }
        }
        let elapsed = nanoseconds() - start
        guard failures.withLock({ $0 }) == 0 else { throw BenchError("a computation of the floor failed") }
        return ["measure": "floor", "elapsed_ms": milliseconds(elapsed)]
    }
}
