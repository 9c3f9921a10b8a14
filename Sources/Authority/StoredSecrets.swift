import Activation
import AuthorityInterface
import Crypto
import Foundation
import ParapheShared
import _CryptoExtras

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The stored form of one security answer: a salted PBKDF2-HMAC-SHA256 of its normalized text.
package struct AnswerHash: Sendable, Equatable {
    package var salt: [UInt8]
    package var hash: [UInt8]
    /// Kept with each hash, so the cost can be raised later without invalidating old answers.
    package var iterations: Int

    package init(salt: [UInt8], hash: [UInt8], iterations: Int) {
        self.salt = salt
        self.hash = hash
        self.iterations = iterations
    }

    static let saltLength = 16
    static let hashLength = 32

    /// Hashes `answer` (normalized first) with a fresh salt.
    static func make(_ answer: SecurityAnswer, iterations: Int, random: any RandomSource) throws(AuthorityError) -> AnswerHash {
        let salt = random.bytes(saltLength)
        return AnswerHash(salt: salt, hash: try derive(answer.normalized, salt: salt, iterations: iterations), iterations: iterations)
    }

    /// True when `answer`, normalized, derives to the stored hash (compared in constant time).
    func matches(_ answer: SecurityAnswer) throws(AuthorityError) -> Bool {
        constantTimeEqual(try Self.derive(answer.normalized, salt: salt, iterations: iterations), hash)
    }

    private static func derive(_ normalized: String, salt: [UInt8], iterations: Int) throws(AuthorityError) -> [UInt8] {
        guard iterations > 0 else { throw AuthorityError(.storage, "invalid answer hash iteration count") }
        do {
            // Below 210,000 rounds swift-crypto wants the explicit "unchecked" spelling; tests use 1,000.
            let key = try KDF.Insecure.PBKDF2.deriveKey(
                from: Array(normalized.utf8), salt: salt, using: .sha256, outputByteCount: hashLength,
                unsafeUncheckedRounds: iterations)
            return key.withUnsafeBytes { Array($0) }
        } catch {
            throw AuthorityError(.storage, "answer hashing failed")
        }
    }

    /// How many of `answers` match `hashes` (same order), one derivation after the other on the calling thread
    /// (the authority's CPU workers run it).
    static func countMatchesNow(_ answers: [SecurityAnswer], _ hashes: [AnswerHash]) throws -> Int {
        try zip(answers, hashes).reduce(0) { count, pair in try pair.1.matches(pair.0) ? count + 1 : count }
    }

    /// Hashes `answers` concurrently, keeping their order.
    static func makeAll(_ answers: [SecurityAnswer], iterations: Int, random: any RandomSource) async throws -> [AnswerHash] {
        try await withThrowingTaskGroup(of: (Int, AnswerHash).self) { group in
            for (index, answer) in answers.enumerated() {
                group.addTask { (index, try make(answer, iterations: iterations, random: random)) }
            }
            var hashes = [AnswerHash?](repeating: nil, count: answers.count)
            for try await (index, hash) in group { hashes[index] = hash }
            return hashes.compactMap { $0 }
        }
    }
}

/// Seals authorization codes with AES-256-GCM under the authority key (`DATA/authority.key`), so the
/// registry never holds one in clear.
///
/// The application token is bound as associated data, so a sealed code cannot be moved to another
/// application.
struct CodeSealer: Sendable {
    let key: SymmetricKey

    static let keyLength = 32

    private static func context(_ token: ApplicationToken) -> [UInt8] {
        Array("paraphe.authorization.v1:\(token.value)".utf8)
    }

    /// `nonce ‖ ciphertext ‖ tag`.
    ///
    /// The nonce always comes from the system generator: a repeatable test random source must
    /// never make two seals share a nonce.
    func seal(_ code: AuthorizationCode, for token: ApplicationToken) throws(AuthorityError) -> [UInt8] {
        do {
            let box = try AES.GCM.seal(Array(code.revealed.utf8), using: key, authenticating: Self.context(token))
            guard let combined = box.combined else { throw AuthorityError(.storage, "sealing failed") }
            return Array(combined)
        } catch {
            throw AuthorityError(.storage, "sealing the authorization code failed")
        }
    }

    func open(_ sealed: [UInt8], for token: ApplicationToken) throws(AuthorityError) -> AuthorizationCode {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            let clear = try AES.GCM.open(box, using: key, authenticating: Self.context(token))
            return AuthorizationCode(String(decoding: clear, as: UTF8.self))
        } catch {
            throw AuthorityError(
                .storage, "a sealed authorization code does not open with the authority key (authority.key replaced or registry damaged)")
        }
    }

    /// Loads `DATA/authority.key`, creating it (mode 0600) if missing.
    ///
    /// Refuses a key file others can read.
    static func loadOrCreate(at url: URL, random: any RandomSource) throws -> CodeSealer {
        if try FileSystem.status(url, code: .dataDirectory) == nil {
            let temporary = url.deletingLastPathComponent()
                .appendingPathComponent(".authority.key.\(FileSystem.processID).\(Hex.uppercase(random.bytes(6)))")
            try FileSystem.createExclusive(temporary, bytes: random.bytes(keyLength), mode: 0o600, code: .dataDirectory)
            // link() never replaces: if another process won the race, its key stays.
            let linked = link(temporary.path, url.path)
            let linkErrno = errno
            unlink(temporary.path)
            if linked != 0, linkErrno != EEXIST {
                throw AuthorityError(.dataDirectory, "cannot create authority.key: \(FileSystem.errnoText(linkErrno))")
            }
            FileSystem.syncDirectory(url.deletingLastPathComponent())
        }
        guard let status = try FileSystem.status(url, code: .dataDirectory) else {
            throw AuthorityError(.dataDirectory, "authority.key vanished")
        }
        if status.mode & 0o077 != 0 {
            throw AuthorityError(
                .dataDirectory, "authority.key is accessible to other users (mode \(FileSystem.octal(status.mode))); it must be 0600")
        }
        if status.owner != FileSystem.currentUser {
            throw AuthorityError(.dataDirectory, "authority.key is not owned by the current user")
        }
        let bytes = try FileSystem.read(url, code: .dataDirectory)
        guard bytes.count == keyLength else {
            throw AuthorityError(.dataDirectory, "authority.key is damaged (expected \(keyLength) bytes, found \(bytes.count))")
        }
        return CodeSealer(key: SymmetricKey(data: bytes))
    }
}

extension CodeSealer {
    /// How an application is named in the logs: the first 8 bytes of an HMAC of its token under a key derived
    /// from `authority.key` (HKDF, its own label), in hex.
    ///
    /// The same on every instance of a fleet and across restarts (they share `authority.key`), so an operator
    /// can follow one application through the logs and find it (`paraphe-authority show` prints it); without
    /// the key, a log line cannot be turned back into the token, which lets whoever holds it through the steps.
    func logName(_ token: ApplicationToken) -> String {
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: self.key, info: Array("paraphe log names v1".utf8), outputByteCount: 32)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(token.value.utf8), using: key)
        return Hex.lowercase(Array(mac).prefix(8))
    }
}
