import COpenSSLCrypto

/// H^count(input): `input` hashed, then its digest hashed `count` − 1 more times — the work factor of CMP's
/// password-based MAC (RFC 4211 §4.4), on both sides of the protocol.
///
/// The textbook function (OpenSSL's PBM known answers in the CMP tests), on the system's libcrypto with one digest
/// context for the whole chain: a round is a digest of one block and nothing else (no allocation, no copy), which is
/// what an authority answering hundreds of enrollments a second pays for each one, twice with its client.
public enum HashChain {
    /// The one-way functions a PBM may name.
    public enum Function: String, Sendable {
        case sha1 = "SHA1"
        case sha256 = "SHA256"
        case sha384 = "SHA384"
        case sha512 = "SHA512"
    }

    /// H^count(input), or nil if libcrypto cannot compute it (no memory, or a provider without the function).
    public static func iterate(_ function: Function, of input: [UInt8], count: Int) -> [UInt8]? {
        guard count >= 1, let md = EVP_MD_fetch(nil, function.rawValue, nil) else { return nil }
        defer { EVP_MD_free(md) }
        guard let context = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(context) }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MD_get_size(md)))
        let computed = digest.withUnsafeMutableBufferPointer { out -> Bool in
            guard let base = out.baseAddress, out.count > 0 else { return false }
            var length: UInt32 = 0
            let first = input.withUnsafeBytes { bytes in
                EVP_DigestInit_ex2(context, md, nil) == 1 && EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1
                    && EVP_DigestFinal_ex(context, base, &length) == 1
            }
            guard first else { return false }
            for _ in 1..<count {
                guard EVP_DigestInit_ex2(context, nil, nil) == 1, EVP_DigestUpdate(context, base, out.count) == 1,
                    EVP_DigestFinal_ex(context, base, &length) == 1
                else { return false }
            }
            return Int(length) == out.count
        }
        return computed ? digest : nil
    }
}
