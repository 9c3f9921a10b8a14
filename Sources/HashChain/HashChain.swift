import Crypto
import Foundation

/// H^count(input): `input` hashed once, then its digest hashed `count` − 1 more times (one block each) — the
/// work factor of the PKCS#12 MAC key (RFC 7292 Appendix B) and of CMP's password-based MAC (RFC 4211 §4.4).
///
/// Each round is a fresh hasher fed straight from the previous `Digest`: no copy of a prepared hasher (whose first
/// update copied its context into a new allocation, plus a retain and a release), no array per round and no copy of
/// the digest into a buffer. With swift-crypto's public API a round cannot cost less than this — every hash
/// allocates, initializes and zeroizes one small context around the compression; BoringSSL's one-shot `SHA256()`
/// would take under half the time, but swift-crypto does not offer it as API. Measured by `paraphe-bench kdf`
/// against PBKDF2-HMAC-SHA256 at the same count (bench/README.md).
///
/// The function is the textbook one — same count, same rounds, same bytes (known answers from OpenSSL in the
/// Keystore and CMP tests) — so an attacker's work per guess is unchanged; only the bookkeeping around each round
/// went away. Inlinable, so each caller gets it specialized for its hash (a generic call per round would cost more
/// than the round).
public enum HashChain {
    @inlinable
    public static func iterate<H: HashFunction>(_: H.Type, of input: [UInt8], count: Int) -> [UInt8] {
        var digest = H.hash(data: input)
        var remaining = count - 1
        while remaining > 0 {
            var hasher = H()
            digest.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            digest = hasher.finalize()
            remaining -= 1
        }
        return digest.withUnsafeBytes { Array($0) }
    }
}
