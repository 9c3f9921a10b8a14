import Crypto
import ParapheCore
import ParapheShared
import SwiftASN1
import X509

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Power-on style self-test of the keystore provider.
public enum KeystoreSelfTest {
    /// Version string returned on success.
    public static let version = "Paraphe Keystore 1.0 (swift-crypto, PKCS#12 PBES2/AES-256-CBC)"

    /// Known-answer self-test of the keystore provider.
    ///
    /// Generates a P-256 key, signs and verifies a fixed message, writes a PKCS#12 (at a low cost, 2,048 iterations:
    /// a throwaway key) to `directory` with a self-signed certificate, reads it again, compares, deletes the file.
    ///
    /// Returns a version string on success, e.g. "Paraphe Keystore 1.0 (swift-crypto, PKCS#12 PBES2/AES-256-CBC)".
    public static func run(in directory: URL) async throws(KeystoreError) -> String {
        try knownAnswers()

        // Fresh key: sign and verify a fixed message; a flipped message must not verify.
        let key = try SigningKey.generate(.p256)
        let signature = try key.sign(KnownAnswer.message)
        guard case .p256(let p256) = key.backing,
            let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: signature),
            p256.publicKey.isValidSignature(ecdsa, for: KnownAnswer.message),
            !p256.publicKey.isValidSignature(ecdsa, for: KnownAnswer.message + [0])
        else { throw .selfTestFailed("ECDSA P-256 sign/verify round trip failed") }

        // Throwaway self-signed certificate, PKCS#12 round trip through the file system.
        let certificate = try selfSignedCertificate(for: key)
        let password = Hex.lowercase(SystemRandomSource().bytes(12))
        let contents = PKCS12Contents(key: key, certificate: certificate, chain: [], friendlyName: "Paraphe self-test")
        let p12 = try PKCS12.write(contents, password: password, cost: KDFCost(iterations: 2_048))

        let suffix = Hex.lowercase(SystemRandomSource().bytes(6))
        let file = directory.appendingPathComponent("paraphe-selftest-\(suffix).p12")
        defer { try? FileManager.default.removeItem(at: file) }
        do {
            try AtomicFile.write(p12, to: file, mode: 0o600)
        } catch {
            throw .ioFailure(error.reason)
        }
        let reread: [UInt8]
        do {
            reread = Array(try Data(contentsOf: file))
        } catch {
            throw .ioFailure("cannot read back the self-test file")
        }
        guard reread == p12 else { throw .selfTestFailed("the self-test file did not read back identically") }

        let opened = try PKCS12.read(reread, password: password)
        guard try opened.key.pkcs8DER() == key.pkcs8DER(),
            opened.certificate == certificate,
            opened.chain.isEmpty,
            opened.friendlyName == contents.friendlyName,
            opened.key.matches(opened.certificate)
        else { throw .selfTestFailed("the PKCS#12 round trip did not return the same key and certificate") }

        switch Result.of({ () throws(KeystoreError) in try PKCS12.read(reread, password: password + "x") }) {
        case .failure(let error) where error.code == .wrongPassword:
            break
        default:
            throw .selfTestFailed("a wrong password was not rejected as such")
        }
        return version
    }

    /// Fixed vectors (computed independently with OpenSSL 3: `openssl kdf ... PKCS12KDF / PBKDF2`, `openssl dgst -sign`).
    enum KnownAnswer {
        static let password = "Paraphe"
        static let salt: [UInt8] = Array(0..<16)
        static let iterations = 2_048
        static let pkcs12SHA256 = "497600FAA80BAC5461EB6A4BF615A645693320F8EEF71CE01D03D3F5D3446E8D"
        static let pkcs12SHA1 = "7637002D52190443C606C425ACBA8C9F623EAC00"
        static let pbkdf2SHA256 = "BD79EB13744DEB65F5D59251904208E89C0BE40417C55E54E296A193FFF96913"
        static let message = Array("Paraphe keystore known-answer test".utf8)
        static let publicKeyX963 =
            "044a810cbdea60e185e4fe581e9e4af20aa4b1f6433d054c18e074682d1931ea300390d7800da9449d8a1c1369299435a6bfb88285c277a114cf09f0b3e29a1c1d"
        static let signatureDER =
            "3046022100823a54ef50be8ffaf09ab0692cb5538ba1bbdaa894e1d575df2d1cee8193e96c0221008c6ff09b8c37a11e123a571b403722a22dd5d96c0624614dc0c8a0904aea0385"
    }

    static func knownAnswers() throws(KeystoreError) {
        let sha256KDF = try KeyDerivation.pkcs12(
            id: 3, password: KnownAnswer.password, salt: KnownAnswer.salt, hash: .sha256, iterations: KnownAnswer.iterations)
        guard hex(sha256KDF) == KnownAnswer.pkcs12SHA256 else { throw .selfTestFailed("PKCS#12 KDF (SHA-256) known answer mismatch") }
        let sha1KDF = try KeyDerivation.pkcs12(
            id: 3, password: KnownAnswer.password, salt: KnownAnswer.salt, hash: .sha1, iterations: KnownAnswer.iterations)
        guard hex(sha1KDF) == KnownAnswer.pkcs12SHA1 else { throw .selfTestFailed("PKCS#12 KDF (SHA-1) known answer mismatch") }
        let pbkdf2 = try KeyDerivation.pbkdf2(
            password: Array(KnownAnswer.password.utf8), salt: KnownAnswer.salt, prf: .sha256, iterations: KnownAnswer.iterations, keyLength: 32
        )
        guard hex(pbkdf2.withUnsafeBytes { Array($0) }) == KnownAnswer.pbkdf2SHA256 else {
            throw .selfTestFailed("PBKDF2-HMAC-SHA256 known answer mismatch")
        }
        guard let publicKeyBytes = bytes(fromHex: KnownAnswer.publicKeyX963),
            let signatureBytes = bytes(fromHex: KnownAnswer.signatureDER),
            let publicKey = try? P256.Signing.PublicKey(x963Representation: publicKeyBytes),
            let signature = try? P256.Signing.ECDSASignature(derRepresentation: signatureBytes),
            publicKey.isValidSignature(signature, for: KnownAnswer.message)
        else { throw .selfTestFailed("ECDSA P-256 known-answer verification failed") }
    }

    /// A throwaway P-256 profile for the security provider's self-test: the PKCS#12 (low cost: the key is thrown away),
    /// its self-signed certificate's DER, and the public key a signature must verify with.
    public static func throwawayProfile(password: String) throws(KeystoreError) -> (
        p12: [UInt8], certificateDER: [UInt8], publicKey: P256.Signing.PublicKey
    ) {
        let key = try SigningKey.generate(.p256)
        guard case .p256(let p256) = key.backing else { throw .selfTestFailed("not a P-256 key") }
        let certificate = try selfSignedCertificate(for: key)
        let contents = PKCS12Contents(key: key, certificate: certificate, chain: [], friendlyName: "Paraphe self-test")
        let p12 = try PKCS12.write(contents, password: password, cost: KDFCost(iterations: 2_048))
        return (p12, try PKCS12.certificateDER(certificate), p256.publicKey)
    }

    static func selfSignedCertificate(for key: SigningKey) throws(KeystoreError) -> Certificate {
        try mapError(.selfTestFailed, "could not build the self-test certificate") {
            let name = try DistinguishedName { CommonName("Paraphe keystore self-test") }
            let now = Date()
            return try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: key.publicKey,
                notValidBefore: now.addingTimeInterval(-60),
                notValidAfter: now.addingTimeInterval(3600),
                issuer: name,
                subject: name,
                signatureAlgorithm: key.algorithm.signatureAlgorithm,
                extensions: Certificate.Extensions {
                    Critical(KeyUsage(digitalSignature: true))
                },
                issuerPrivateKey: key.certificateKey
            )
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        Hex.uppercase(bytes)
    }

    /// The bytes a string of hex digits spells (nil for anything else).
    public static func bytes(fromHex text: String) -> [UInt8]? {
        var result: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = nibble(high), let l = nibble(low) else { return nil }
            result.append(h << 4 | l)
        }
        return result
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
