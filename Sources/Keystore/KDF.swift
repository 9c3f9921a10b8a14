import COpenSSLCrypto
import Crypto
import Dispatch
import ParapheCore
import Synchronization
import _CryptoExtras

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Password-based key-derivation cost (iteration count shared by PBKDF2 and the PKCS#12 MAC KDF).
public struct KDFCost: Sendable, Equatable {
    /// Iteration count.
    public var iterations: Int

    /// Creates a cost with `iterations` rounds.
    public init(iterations: Int) {
        self.iterations = iterations
    }

    /// 600,000 iterations (OWASP 2023 recommendation for PBKDF2-HMAC-SHA256).
    public static let standard = KDFCost(iterations: 600_000)

    /// Smallest iteration count the writers accept (OpenSSL's own default is 2,048).
    public static let minimumIterations = 1_000

    /// Largest iteration count accepted anywhere; larger values are treated as malformed / hostile.
    public static let maximumIterations = 10_000_000

    func validatedForWriting() throws(KeystoreError) -> Int {
        guard iterations >= KDFCost.minimumIterations else {
            throw .weakParameters("iteration count \(iterations) is below the minimum of \(KDFCost.minimumIterations)")
        }
        guard iterations <= KDFCost.maximumIterations else {
            throw .weakParameters("iteration count \(iterations) exceeds the maximum of \(KDFCost.maximumIterations)")
        }
        return iterations
    }

    /// The count, if a derivation can run at it at all (1...`maximumIterations`; files from elsewhere may use low counts).
    func validatedForDerivation() throws(KeystoreError) -> Int {
        guard (1...KDFCost.maximumIterations).contains(iterations) else {
            throw .malformed("iteration count \(iterations) is out of range (1...\(KDFCost.maximumIterations))")
        }
        return iterations
    }
}

/// The password-based key derivations of a signing profile: writing it, logging in to it and (later) changing its
/// password all derive their keys here, so a change of cost or of implementation reaches every profile operation.
///
/// A profile holds two independent derivations, each at the full count: the bags' key and the MAC key. They use
/// different functions over different encodings of the password, with salts of their own, so neither key is derived
/// from, or shared with, the other. A password guess is cheapest to test against the MAC (one SHA-256 compression per
/// round, against PBKDF2's two) — as in every PKCS#12 file OpenSSL 3 writes; making these functions faster here
/// changes nothing for an attacker, whose cost is set by the function and the count, both unchanged.
public enum ProfileKDF {
    /// The key of a profile's encrypted bags: PBKDF2-HMAC-SHA256 (RFC 8018) over the UTF-8 password, 32 bytes (AES-256-CBC).
    public static func bagKey(password: String, salt: [UInt8], cost: KDFCost) throws(KeystoreError) -> SymmetricKey {
        let iterations = try cost.validatedForDerivation()
        var passwordBytes = Array(password.utf8)
        defer { KeyDerivation.zeroize(&passwordBytes) }
        return try KeyDerivation.pbkdf2(password: passwordBytes, salt: salt, prf: .sha256, iterations: iterations, keyLength: 32)
    }

    /// The key of a profile's integrity MAC: RFC 7292 Appendix B.2 (ID 3, MAC material) with SHA-256 over the
    /// BMPString password, 32 bytes (HMAC-SHA256).
    ///
    /// OpenSSL 3.0 reads this MAC without `-legacy`; PBMAC1 it cannot.
    public static func macKey(password: String, salt: [UInt8], cost: KDFCost) throws(KeystoreError) -> SymmetricKey {
        let iterations = try cost.validatedForDerivation()
        var key = try KeyDerivation.pkcs12(id: 3, password: password, salt: salt, hash: .sha256, iterations: iterations)
        defer { KeyDerivation.zeroize(&key) }
        return SymmetricKey(data: key)
    }
}

/// Hash functions used by the password-based schemes.
enum PBEHash: Sendable {
    case sha1
    case sha256

    var digestLength: Int {
        switch self {
        case .sha1: return 20
        case .sha256: return 32
        }
    }
}

enum KeyDerivation {
    /// PBKDF2-HMAC (RFC 8018) — callers have already range-checked `iterations`.
    static func pbkdf2(password: [UInt8], salt: [UInt8], prf: PBEHash, iterations: Int, keyLength: Int) throws(KeystoreError) -> SymmetricKey {
        let function: KDF.Insecure.PBKDF2.HashFunction = prf == .sha1 ? .insecureSHA1 : .sha256
        // Low counts are only reachable for reading third-party files or explicit low KDFCost (tests, self-test);
        // the writers enforce KDFCost.minimumIterations.
        return try mapError(.cryptoFailure, "PBKDF2 failed") {
            try KDF.Insecure.PBKDF2.deriveKey(
                from: password, salt: salt, using: function,
                outputByteCount: keyLength, unsafeUncheckedRounds: iterations
            )
        }
    }

    /// RFC 7292 Appendix B.2 key derivation for `id` (3 = MAC key), one hash block: what the MAC needs.
    ///
    /// OpenSSL's own `PKCS12_key_gen_uni`, the function `openssl pkcs12` checks every MAC with, so the bytes are
    /// OpenSSL's by construction; one C loop over one digest context (docs/benchmarks.md, KDF row).
    static func pkcs12(id: UInt8, password: String, salt: [UInt8], hash: PBEHash, iterations: Int) throws(KeystoreError) -> [UInt8] {
        // Password as BMPString with two trailing zero bytes.
        var passwordBytes = ASN1Support.bmpBytes(password)
        passwordBytes.append(contentsOf: [0, 0])
        defer { zeroize(&passwordBytes) }
        var salt = salt
        var output = [UInt8](repeating: 0, count: hash.digestLength)
        guard let count = Int32(exactly: iterations), let passwordLength = Int32(exactly: passwordBytes.count),
            let saltLength = Int32(exactly: salt.count)
        else { throw KeystoreError(.weakParameters, "PKCS#12 key derivation parameters out of range") }
        let digest = hash == .sha256 ? EVP_sha256() : EVP_sha1()
        let status = PKCS12_key_gen_uni(
            &passwordBytes, passwordLength, &salt, saltLength, Int32(id), count, Int32(output.count), &output, digest)
        guard status == 1 else { throw KeystoreError(.cryptoFailure, "the PKCS#12 key derivation failed") }
        return output
    }

    /// Overwrites a secret buffer with zeros.
    static func zeroize(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
    }
}

/// Runs independent jobs on all cores (the caller's thread included) and returns their results in order; rethrows the first failure.
enum Parallel {
    private final class Slots<T: Sendable>: Sendable {
        private let results: Mutex<[Result<T, KeystoreError>?]>

        init(count: Int) { results = Mutex(Array(repeating: nil, count: count)) }

        func set(_ index: Int, _ result: Result<T, KeystoreError>) {
            results.withLock { $0[index] = result }
        }

        func collect() -> [Result<T, KeystoreError>?] {
            results.withLock { $0 }
        }
    }

    /// `serially`: one after the other on the caller's thread (the security provider creates no threads in its host).
    static func run<T: Sendable>(_ jobs: [@Sendable () -> Result<T, KeystoreError>], serially: Bool = false) throws(KeystoreError) -> [T] {
        let results: [Result<T, KeystoreError>?]
        if jobs.count <= 1 || serially {
            results = jobs.map { $0() }
        } else {
            let slots = Slots<T>(count: jobs.count)
            DispatchQueue.concurrentPerform(iterations: jobs.count) { index in
                slots.set(index, jobs[index]())
            }
            results = slots.collect()
        }
        var values: [T] = []
        values.reserveCapacity(jobs.count)
        for slot in results {
            switch slot {
            case .success(let value)?: values.append(value)
            case .failure(let error)?: throw error
            case nil: throw .cryptoFailure("a concurrent job did not complete")
            }
        }
        return values
    }
}

extension Result where Failure == KeystoreError {
    /// Captures the outcome of a typed-throwing call.
    static func of(_ body: () throws(KeystoreError) -> Success) -> Result<Success, KeystoreError> {
        do {
            return .success(try body())
        } catch {
            return .failure(error)
        }
    }
}
