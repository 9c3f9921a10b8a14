import Crypto
import Foundation
import Testing

@testable import Keystore

/// Known answers for the profile's key derivations, computed by OpenSSL 3 at run time: its PKCS12KDF and PBKDF2
/// (`openssl kdf`) at the counts where the Appendix B chain begins and at the profile's own, through `ProfileKDF`;
/// and PKCS#12 files OpenSSL made whose only password-dependent part is the MAC. (`PKCS12FormatTests` checks the
/// internal functions at one count.)
@Suite("Key derivation known answers from OpenSSL", .enabled(if: OpenSSL.isAvailable))
struct KDFKnownAnswerTests {
    /// Passwords: ASCII, Latin with accents and a dash (BMP), one outside the BMP (a surrogate pair), one longer than
    /// a 64-byte block once in BMPString form.
    static let passwords = ["Paraphe", "Crème brûlée — été 2024!", "Clé 🔑 été", String(repeating: "Quartz-Lantern-", count: 3)]

    /// Salt lengths around the 64-byte block the derivation stretches to.
    static let salts: [[UInt8]] = [8, 16, 20, 65].map { length in (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) } }

    /// RFC 7292 Appendix B.2 (ID 3) at counts where the chain begins (1, 2, 3), a usual one and the profile's own.
    @Test(arguments: [1, 2, 3, 2_048, 600_000])
    func macKeyMatchesOpenSSL(_ iterations: Int) throws {
        let dir = try TempDir()
        for (index, password) in Self.passwords.enumerated() {
            let salt = Self.salts[index % Self.salts.count]
            let expected = try Self.openSSLKDF(
                "PKCS12KDF", digest: "SHA256", keyLength: 32, password: Self.bmpString(password), salt: salt, iterations: iterations,
                extra: ["id:3"], in: dir)
            let key = try ProfileKDF.macKey(password: password, salt: salt, cost: KDFCost(iterations: iterations))
            #expect(key.withUnsafeBytes { Array($0) } == expected, "SHA-256, \(iterations) iterations, password \(index)")
        }
    }

    /// The SHA-1 variant (files from older tools) goes through the same loop.
    @Test(arguments: [1, 2, 2_048])
    func sha1MACKeyMatchesOpenSSL(_ iterations: Int) throws {
        let dir = try TempDir()
        for (index, password) in Self.passwords.enumerated() {
            let salt = Self.salts[index % Self.salts.count]
            let expected = try Self.openSSLKDF(
                "PKCS12KDF", digest: "SHA1", keyLength: 20, password: Self.bmpString(password), salt: salt, iterations: iterations,
                extra: ["id:3"], in: dir)
            let key = try KeyDerivation.pkcs12(id: 3, password: password, salt: salt, hash: .sha1, iterations: iterations)
            #expect(key == expected, "SHA-1, \(iterations) iterations, password \(index)")
        }
    }

    /// The bags' key: PBKDF2-HMAC-SHA256 over the UTF-8 password.
    @Test(arguments: [1, 2_048, 600_000])
    func bagKeyMatchesOpenSSL(_ iterations: Int) throws {
        let dir = try TempDir()
        for (index, password) in Self.passwords.enumerated() {
            let salt = Self.salts[index % Self.salts.count]
            let expected = try Self.openSSLKDF(
                "PBKDF2", digest: "SHA256", keyLength: 32, password: Array(password.utf8), salt: salt, iterations: iterations, extra: [],
                in: dir)
            let key = try ProfileKDF.bagKey(password: password, salt: salt, cost: KDFCost(iterations: iterations))
            #expect(key.withUnsafeBytes { Array($0) } == expected, "PBKDF2, \(iterations) iterations, password \(index)")
        }
    }

    /// Files made by `openssl pkcs12 -export -iter N -macalg sha256` with unencrypted bags: the MAC is the only thing the
    /// password opens, so reading them checks our Appendix B key against OpenSSL's, password encoding included.
    @Test(arguments: [(1, "sha256"), (2, "sha256"), (600_000, "sha256"), (2, "sha1"), (2_048, "sha1")])
    func verifiesOpenSSLMACs(_ iterations: Int, _ digest: String) throws {
        let dir = try TempDir()
        let profile = try Profile(.p256)
        try dir.write("k.pem", try profile.key.pkcs8PEM)
        try dir.write("c.pem", try profile.certificate.pem)
        let password = "Clé 🔑 été"
        try dir.write("pw", password + "\n")
        let export = try OpenSSL.run(
            [
                "pkcs12", "-export", "-iter", "\(iterations)", "-macalg", digest, "-keypbe", "NONE", "-certpbe", "NONE",
                "-inkey", "k.pem", "-in", "c.pem", "-passout", "file:pw", "-out", "f.p12",
            ], in: dir.url)
        #expect(export.status == 0, "\(export.output)")
        let info = try OpenSSL.run(["pkcs12", "-info", "-noout", "-in", "f.p12", "-passin", "file:pw"], in: dir.url)
        #expect(info.output.contains("MAC: \(digest), Iteration \(iterations)"), "\(info.output)")

        let file = try dir.read("f.p12")
        let contents = try PKCS12.read(file, password: password)
        #expect(contents.certificate == profile.certificate)
        #expect(try contents.key.pkcs8DER() == profile.key.pkcs8DER())
        #expect(keystoreError { try PKCS12.read(file, password: "Clé 🔑 étè") }?.code == .wrongPassword)
    }

    @Test func refusesCountsOutOfRange() {
        for iterations in [0, -1, KDFCost.maximumIterations + 1] {
            let cost = KDFCost(iterations: iterations)
            #expect(keystoreError { try ProfileKDF.macKey(password: "p", salt: [1, 2, 3], cost: cost) }?.code == .malformed)
            #expect(keystoreError { try ProfileKDF.bagKey(password: "p", salt: [1, 2, 3], cost: cost) }?.code == .malformed)
        }
    }

    /// BMPString with its two trailing zero bytes, written here independently of the module's own encoder.
    static func bmpString(_ password: String) -> [UInt8] {
        password.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } + [0, 0]
    }

    /// `openssl kdf -keylen N … <name>`, its colon-separated hex output decoded.
    static func openSSLKDF(
        _ name: String, digest: String, keyLength: Int, password: [UInt8], salt: [UInt8], iterations: Int, extra: [String],
        in dir: TempDir
    ) throws -> [UInt8] {
        var arguments = [
            "kdf", "-keylen", "\(keyLength)", "-kdfopt", "digest:\(digest)", "-kdfopt", "hexpass:\(hex(password))",
            "-kdfopt", "hexsalt:\(hex(salt))", "-kdfopt", "iter:\(iterations)",
        ]
        for option in extra { arguments += ["-kdfopt", option] }
        arguments.append(name)
        let result = try OpenSSL.run(arguments, in: dir.url)
        #expect(result.status == 0, "\(result.output)")
        let digits = result.stdout.filter(\.isHexDigit)
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap { offset in
            let start = digits.index(digits.startIndex, offsetBy: offset)
            return UInt8(digits[start...digits.index(after: start)], radix: 16)
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
