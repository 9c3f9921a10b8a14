import Crypto
import ParapheCore

/// A PBKDF2 key of a profile's bags (`ProfileKDF.bagKey`) with the inputs it was derived from.
///
/// Besides encrypting the bags, it seals the activation parked before the profile exists (through `subkey`),
/// so an activation derives this key once. Why that costs an attacker nothing: a password guess against
/// either file runs the same PBKDF2 at the full count, and the parked file is the same key pair's
/// container, deleted once the profile is written; no key is used by two ciphers (the parked file's key
/// is an HKDF expansion of this one under its own label).
public struct BagKey: Sendable {
    public let salt: [UInt8]
    public let iterations: Int
    let key: SymmetricKey
    /// The password it was derived from, so that a log-in with another password never reuses it.
    let password: String

    /// Derives the key for `salt` (fresh random bytes when writing; the parked file's when resuming).
    public static func derive(password: String, salt: [UInt8], cost: KDFCost) throws(KeystoreError) -> BagKey {
        BagKey(salt: salt, iterations: cost.iterations, key: try ProfileKDF.bagKey(password: password, salt: salt, cost: cost), password: password)
    }

    /// A 32-byte key for another purpose, expanded from this one with HKDF-SHA256 under `label`.
    public func subkey(_ label: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Array(label.utf8), outputByteCount: 32)
    }

    /// The key itself, for one reader only: activations parked by the first version were sealed with it directly
    /// (never written that way any more).
    public var unexpandedForFirstFormat: SymmetricKey { key }

    func matches(_ parameters: PBES2Parameters, password: String) -> Bool {
        parameters.salt == salt && parameters.iterations == iterations && parameters.prf == .sha256 && parameters.keyLength == 32
            && password == self.password
    }
}

/// Both password-derived keys a profile is written with — the bags' (`BagKey`) and the MAC's — each for a salt of
/// its own at the full count.
///
/// An activation derives them once: while the identity check runs when the password is already known (`paraphe
/// activate`), and in parallel otherwise; the log-in that follows the write in the same process recognises its own
/// salts and reuses them instead of deriving the same bytes again (a cache keyed by every input of the function:
/// password, salt, count, algorithm; the file is still read, parsed, MAC-checked and decrypted).
public struct ProfileKeys: Sendable {
    public let bag: BagKey
    let macSalt: [UInt8]
    let macKey: SymmetricKey

    public var iterations: Int { bag.iterations }

    /// Derives both keys for fresh salts — or the MAC key alone when the bags' key is already at hand (`bag`,
    /// from a parked activation) — one per core, or one after the other on this thread (`oneCore`: while another
    /// computation, such as an identity check's answer hashes, has the other core).
    public static func derive(
        password: String, cost: KDFCost, bag: BagKey? = nil, random: any RandomSource = SystemRandomSource(), oneCore: Bool = false
    ) throws(KeystoreError) -> ProfileKeys {
        _ = try cost.validatedForWriting()
        guard !password.isEmpty else { throw .weakParameters("refusing to protect a PKCS#12 file with an empty password") }
        if let bag {
            guard bag.iterations == cost.iterations, bag.password == password else {
                throw .weakParameters("the bags' key was derived for another password or count")
            }
        }
        let bagSalt = bag?.salt ?? random.bytes(16)
        let macSalt = random.bytes(16)
        guard bagSalt.count == 16, macSalt.count == 16 else { throw .cryptoFailure("the random source returned the wrong number of bytes") }
        var jobs: [@Sendable () -> Result<SymmetricKey, KeystoreError>] = [
            { @Sendable in Result.of { () throws(KeystoreError) in try ProfileKDF.macKey(password: password, salt: macSalt, cost: cost) } }
        ]
        if bag == nil {
            jobs.append { @Sendable in Result.of { () throws(KeystoreError) in try ProfileKDF.bagKey(password: password, salt: bagSalt, cost: cost) }
            }
        }
        let keys = oneCore ? try jobs.map { job throws(KeystoreError) in try job().get() } : try Parallel.run(jobs)
        guard keys.count == jobs.count else { throw .cryptoFailure("key derivation returned the wrong number of keys") }
        let bagKey = bag ?? BagKey(salt: bagSalt, iterations: cost.iterations, key: keys[1], password: password)
        return ProfileKeys(bag: bagKey, macSalt: macSalt, macKey: keys[0])
    }

    /// Whether these keys were derived from `password`.
    public func isDerived(from password: String) -> Bool { password == bag.password }

    func matchesMAC(salt: [UInt8], iterations: Int, hash: PBEHash, password: String) -> Bool {
        salt == macSalt && iterations == self.iterations && hash == .sha256 && password == bag.password
    }
}
