import Crypto
import Foundation

/// H^count(input): `input` hashed once, then its digest hashed `count` − 1 more times (one block each) — the
/// work factor of CMP's password-based MAC (RFC 4211 §4.4), on both sides of the protocol.
///
/// Each round is a fresh hasher fed straight from the previous `Digest`: no copy of a prepared hasher, no array per
/// round and no copy of the digest into a buffer. The function is the textbook one — same count, same rounds, same
/// bytes (OpenSSL's PBM known answers in the CMP tests) — so an attacker's work per guess is unchanged. Inlinable,
/// so each caller gets it specialized for its hash (a generic call per round would cost more than the round).
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
