import Crypto
import Foundation

/// H^count(input): `input` hashed, then its digest hashed `count` − 1 more times — the work factor of CMP's
/// password-based MAC (RFC 4211 §4.4), on both sides of the protocol.
///
/// The textbook function (OpenSSL's PBM known answers in the CMP tests), inlinable so each caller gets it
/// specialized for its hash, with no copy per round.
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
