import Activation
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import Keystore

@Suite("PKCS#12 interoperability with OpenSSL 3", .enabled(if: OpenSSL.isAvailable))
struct PKCS12OpenSSLTests {
    /// Requirement 1: a 600,000-iteration file opens in OpenSSL without -legacy, with the modern algorithms and no cheap iteration count.
    @Test func writerAtStandardCostOpensInOpenSSL() throws {
        let dir = try TempDir()
        let profile = try Profile(.p256)
        let password = "correct horse battery staple"
        try dir.write("pw", password + "\n")

        let clock = ContinuousClock()
        var p12: [UInt8] = []
        let writeTime = try clock.measure {
            p12 = try PKCS12.write(profile.contents, password: password, cost: .standard)
        }
        var reread: PKCS12Contents?
        let readTime = try clock.measure {
            reread = try PKCS12.read(p12, password: password)
        }
        print("PKCS12 at 600k iterations (debug build): write \(writeTime), read \(readTime)")
        #expect(reread?.certificate == profile.certificate)
        try dir.write("profile.p12", p12)

        let info = try OpenSSL.run(["pkcs12", "-info", "-in", "profile.p12", "-noout", "-passin", "file:pw"], in: dir.url)
        print(info.output)
        #expect(info.status == 0, "openssl pkcs12 -info failed: \(info.output)")
        #expect(info.output.contains("AES-256-CBC"))
        #expect(info.output.contains("hmacWithSHA256"))
        #expect(info.output.contains("MAC: sha256, Iteration 600000"))
        #expect(!info.output.localizedCaseInsensitiveContains("RC2"))
        #expect(!info.output.localizedCaseInsensitiveContains("3DES"))

        let counts = info.output.matches(of: /Iteration (\d+)/).compactMap { Int($0.output.1) }
        #expect(counts.count == 3, "expected MAC + 2 bag iteration counts, got \(counts)")
        #expect(counts.allSatisfy { $0 >= 600_000 }, "cheap iteration count in \(counts)")
    }

    /// Requirement 2: OpenSSL extracts a key whose public key is the certificate's.
    @Test(arguments: [KeyAlgorithm.rsa2048, .p256])
    func openSSLExtractsMatchingKey(_ algorithm: KeyAlgorithm) throws {
        let dir = try TempDir()
        let profile = try Profile(algorithm)
        // Non-ASCII password: UTF-8 for PBES2 and BMPString for the MAC must agree with OpenSSL.
        let password = "Crème brûlée — été 2024!"
        try dir.write("pw", password + "\n")
        try dir.write("profile.p12", try PKCS12.write(profile.contents, password: password, cost: fastCost))

        let extract = try OpenSSL.run(
            ["pkcs12", "-in", "profile.p12", "-nocerts", "-nodes", "-passin", "file:pw", "-out", "key.pem"], in: dir.url)
        #expect(extract.status == 0, "\(extract.output)")
        let keyPub = try OpenSSL.run(["pkey", "-in", "key.pem", "-pubout"], in: dir.url)
        #expect(keyPub.status == 0)

        let certs = try OpenSSL.run(
            ["pkcs12", "-in", "profile.p12", "-nokeys", "-clcerts", "-passin", "file:pw", "-out", "leaf.pem"], in: dir.url)
        #expect(certs.status == 0, "\(certs.output)")
        let certPub = try OpenSSL.run(["x509", "-in", "leaf.pem", "-pubkey", "-noout"], in: dir.url)
        #expect(certPub.status == 0)
        #expect(!keyPub.stdout.isEmpty)
        #expect(keyPub.stdout == certPub.stdout)

        // The leaf OpenSSL found is our certificate; the CA is in the file too; friendlyName and localKeyID are set.
        let leaf = try Certificate(pemEncoded: String(decoding: try dir.read("leaf.pem"), as: UTF8.self))
        #expect(leaf == profile.certificate)
        let all = try OpenSSL.run(["pkcs12", "-in", "profile.p12", "-nokeys", "-passin", "file:pw"], in: dir.url)
        #expect(all.stdout.components(separatedBy: "BEGIN CERTIFICATE").count == 3)
        #expect(all.stdout.contains("friendlyName: Jeanne Tremblay (Paraphe)"))
        #expect(all.stdout.contains("localKeyID:"))
        #expect(all.stdout.contains("subject=CN = Paraphe Test Root CA") || all.stdout.contains("Paraphe Test Root CA"))

        // Our reader returns the same thing.
        let contents = try PKCS12.read(try dir.read("profile.p12"), password: password)
        #expect(contents.key.algorithm == algorithm)
        #expect(try contents.key.pkcs8DER() == profile.key.pkcs8DER())
        #expect(contents.certificate == profile.certificate)
        #expect(contents.chain == [profile.ca.certificate])
        #expect(contents.friendlyName == "Jeanne Tremblay (Paraphe)")
    }

    /// Requirement 3: a wrong password is refused by OpenSSL and by `read` (as wrongPassword).
    @Test func wrongPasswordIsRefused() throws {
        let dir = try TempDir()
        let profile = try Profile(.p256)
        try dir.write("pw", "the real one\n")
        try dir.write("bad", "not the real one\n")
        let p12 = try PKCS12.write(profile.contents, password: "the real one", cost: fastCost)
        try dir.write("profile.p12", p12)

        let result = try OpenSSL.run(["pkcs12", "-info", "-in", "profile.p12", "-noout", "-passin", "file:bad"], in: dir.url)
        #expect(result.status != 0)
        #expect(result.output.localizedCaseInsensitiveContains("mac verify"))

        let error = keystoreError { try PKCS12.read(p12, password: "not the real one") }
        #expect(error?.code == .wrongPassword)
        #expect(error.map { !$0.description.contains("not the real one") } ?? false)
        #expect(keystoreError { try PKCS12.read(p12, password: "") }?.code == .wrongPassword)
        #expect(try PKCS12.read(p12, password: "the real one").key.matches(profile.certificate))
    }

    /// Requirement 4: files made by `openssl pkcs12 -export` (OpenSSL 3 defaults) are read; the chain keeps the CA.
    @Test(arguments: [KeyAlgorithm.rsa2048, .p256])
    func readsOpenSSLExport(_ algorithm: KeyAlgorithm) throws {
        let dir = try TempDir()
        let profile = try Profile(algorithm)
        try dir.write("k.pem", try profile.key.pkcs8PEM)
        try dir.write("c.pem", try profile.certificate.pem)
        try dir.write("ca.pem", try profile.ca.certificate.pem)
        try dir.write("pw", "export-pass\n")

        let export = try OpenSSL.run(
            [
                "pkcs12", "-export", "-inkey", "k.pem", "-in", "c.pem", "-certfile", "ca.pem",
                "-name", "Exported by OpenSSL", "-passout", "file:pw", "-out", "f.p12",
            ], in: dir.url)
        #expect(export.status == 0, "\(export.output)")

        let contents = try PKCS12.read(try dir.read("f.p12"), password: "export-pass")
        #expect(contents.key.matches(contents.certificate))
        #expect(contents.certificate == profile.certificate)
        #expect(contents.chain == [profile.ca.certificate])
        #expect(contents.friendlyName == "Exported by OpenSSL")
        #expect(try contents.key.pkcs8DER() == profile.key.pkcs8DER())
        #expect(keystoreError { try PKCS12.read(try dir.read("f.p12"), password: "export-pasS") }?.code == .wrongPassword)
    }

    /// Other OpenSSL variants: AES-128/192, SHA-1 MAC, unencrypted bags.
    @Test(arguments: [
        ["-keypbe", "AES-128-CBC", "-certpbe", "AES-192-CBC", "-macalg", "sha1"],
        ["-keypbe", "NONE", "-certpbe", "NONE"],
        ["-keypbe", "AES-256-CBC", "-certpbe", "NONE", "-iter", "4096"],
    ])
    func readsOpenSSLVariants(_ options: [String]) throws {
        let dir = try TempDir()
        let profile = try Profile(.p256)
        try dir.write("k.pem", try profile.key.pkcs8PEM)
        try dir.write("c.pem", try profile.certificate.pem)
        try dir.write("ca.pem", try profile.ca.certificate.pem)
        try dir.write("pw", "variant-pass\n")
        let export = try OpenSSL.run(
            ["pkcs12", "-export", "-inkey", "k.pem", "-in", "c.pem", "-certfile", "ca.pem", "-passout", "file:pw", "-out", "f.p12"]
                + options, in: dir.url)
        #expect(export.status == 0, "\(export.output)")
        let contents = try PKCS12.read(try dir.read("f.p12"), password: "variant-pass")
        #expect(contents.certificate == profile.certificate)
        #expect(contents.chain == [profile.ca.certificate])
        #expect(try contents.key.pkcs8DER() == profile.key.pkcs8DER())
        #expect(keystoreError { try PKCS12.read(try dir.read("f.p12"), password: "wrong") }?.code == .wrongPassword)
    }

    /// Requirement 4 (legacy): RC2/3DES files are refused with a clear unsupportedAlgorithm error.
    @Test func refusesLegacyExport() throws {
        let dir = try TempDir()
        guard OpenSSL.hasLegacyProvider(in: dir.url) else {
            print("openssl legacy provider absent: legacy PKCS#12 case skipped")
            return
        }
        let profile = try Profile(.rsa2048)
        try dir.write("k.pem", try profile.key.pkcs8PEM)
        try dir.write("c.pem", try profile.certificate.pem)
        try dir.write("pw", "legacy-pass\n")
        let export = try OpenSSL.run(
            ["pkcs12", "-export", "-legacy", "-inkey", "k.pem", "-in", "c.pem", "-passout", "file:pw", "-out", "legacy.p12"],
            in: dir.url)
        #expect(export.status == 0, "\(export.output)")
        let info = try OpenSSL.run(["pkcs12", "-info", "-noout", "-legacy", "-in", "legacy.p12", "-passin", "file:pw"], in: dir.url)
        #expect(info.output.contains("RC2") || info.output.contains("3DES") || info.output.contains("TripleDES"))

        let error = keystoreError { try PKCS12.read(try dir.read("legacy.p12"), password: "legacy-pass") }
        #expect(error?.code == .unsupportedAlgorithm)
        #expect(error?.reason.contains("AES") == true)
        #expect(error?.reason.contains("legacy-pass") == false)
    }
}
