import Activation
import Crypto
import Foundation
import ParapheShared
import SwiftASN1
import Testing
import X509

@testable import Keystore

@Suite("Profile login, files and self-test", .enabled(if: OpenSSL.isAvailable))
struct ProfileAndFileTests {
    /// Requirement 7: success, with a fingerprint equal to OpenSSL's.
    @Test func loginSucceedsAndSummarizes() async throws {
        let dir = try TempDir()
        let profile = try Profile(.rsa2048)
        let p12 = try PKCS12.write(profile.contents, password: "s3cret pass", cost: fastCost)
        let summary = try await ProfileLogin.login(p12: p12, password: "s3cret pass", trustRoots: [profile.ca.certificate])

        try dir.write("c.pem", try profile.certificate.pem)
        let fingerprint = try OpenSSL.run(["x509", "-in", "c.pem", "-noout", "-fingerprint", "-sha256"], in: dir.url)
        #expect(fingerprint.status == 0)
        let expected = fingerprint.stdout.split(separator: "=", maxSplits: 1).last.map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(summary.sha256Fingerprint == expected)
        #expect(summary.sha256Fingerprint.count == 32 * 3 - 1)

        let serial = try OpenSSL.run(["x509", "-in", "c.pem", "-noout", "-serial"], in: dir.url)
        let openSSLSerial = serial.stdout.split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(summary.serialHex.replacingOccurrences(of: ":", with: "") == openSSLSerial)

        #expect(summary.subject == "CN=Jeanne Tremblay")
        #expect(summary.commonName == "Jeanne Tremblay")
        #expect(summary.email == "jeanne.tremblay@example.org")
        #expect(summary.issuer == "CN=Paraphe Test Root CA,O=Paraphe Tests,C=CA")
        #expect(summary.keyAlgorithm == .rsa2048)
        #expect(summary.notBefore == profile.certificate.notValidBefore)
        #expect(summary.notAfter == profile.certificate.notValidAfter)
    }

    /// A profile written with keys derived ahead opens with OpenSSL; the log-in that follows reuses a derivation only
    /// when every input matches (a forged key under the right salt and password is taken — and fails the MAC —, the
    /// same salt under another password is derived again).
    @Test func keysDerivedAheadWriteAProfileAndAreReusedOnlyForTheirOwnInputs() throws {
        let dir = try TempDir()
        let profile = try Profile(.p256)
        let keys = try ProfileKeys.derive(password: "Vert-Orage-Piano-47", cost: fastCost)
        #expect(keys.isDerived(from: "Vert-Orage-Piano-47") && !keys.isDerived(from: "vert-orage-piano-47"))
        let p12 = try PKCS12.write(profile.contents, keys: keys)
        _ = try dir.write("p.p12", p12)
        _ = try dir.write("pw", "Vert-Orage-Piano-47\n")
        let info = try OpenSSL.run(["pkcs12", "-in", "p.p12", "-info", "-nokeys", "-passin", "file:pw"], in: dir.url)
        #expect(info.status == 0)
        #expect(info.output.contains("MAC: sha256, Iteration \(fastCost.iterations)"))

        let reread = try PKCS12.read(p12, password: "Vert-Orage-Piano-47", known: keys)
        #expect(reread.certificate == profile.certificate)
        #expect(keystoreError { try PKCS12.read(p12, password: "another-password", known: keys) }?.code == .wrongPassword)

        let forgedBag = BagKey(salt: keys.bag.salt, iterations: keys.iterations, key: SymmetricKey(size: .bits256), password: "Vert-Orage-Piano-47")
        let forgedMAC = ProfileKeys(bag: forgedBag, macSalt: keys.macSalt, macKey: SymmetricKey(size: .bits256))
        #expect(keystoreError { try PKCS12.read(p12, password: "Vert-Orage-Piano-47", known: forgedMAC) }?.code == .wrongPassword)
        let otherPassword = ProfileKeys(
            bag: BagKey(salt: keys.bag.salt, iterations: keys.iterations, key: SymmetricKey(size: .bits256), password: "x"),
            macSalt: keys.macSalt, macKey: SymmetricKey(size: .bits256))
        #expect(try PKCS12.read(p12, password: "Vert-Orage-Piano-47", known: otherPassword).certificate == profile.certificate)

        // The bags' key of a parked activation is reused for the profile: the same salt, only the MAC key derived again.
        let resumed = try ProfileKeys.derive(password: "Vert-Orage-Piano-47", cost: fastCost, bag: keys.bag)
        #expect(resumed.bag.salt == keys.bag.salt && resumed.macSalt != keys.macSalt)
        #expect(keystoreError { try ProfileKeys.derive(password: "another-password", cost: fastCost, bag: keys.bag) }?.code == .weakParameters)
        #expect(try PKCS12.read(PKCS12.write(profile.contents, keys: resumed), password: "Vert-Orage-Piano-47").certificate == profile.certificate)
    }

    @Test func loginRefusesWrongPassword() async throws {
        let profile = try Profile(.p256)
        let p12 = try PKCS12.write(profile.contents, password: "right", cost: fastCost)
        let error = await keystoreError { try await ProfileLogin.login(p12: p12, password: "wrong", trustRoots: [profile.ca.certificate]) }
        #expect(error?.code == .wrongPassword)
    }

    @Test func loginRefusesForeignCA() async throws {
        let trusted = try TestCA(name: "Trusted Root")
        let other = try TestCA(name: "Some Other Root")
        let profile = try Profile(.p256, ca: other)
        let p12 = try PKCS12.write(profile.contents, password: "pw-foreign", cost: fastCost)
        let error = await keystoreError {
            try await ProfileLogin.login(p12: p12, password: "pw-foreign", trustRoots: [trusted.certificate])
        }
        #expect(error?.code == .chainInvalid)
        // The same file is fine when its CA is trusted, but not once the certificate has expired.
        _ = try await ProfileLogin.login(p12: p12, password: "pw-foreign", trustRoots: [other.certificate, trusted.certificate])
        let expired = await keystoreError {
            try await ProfileLogin.login(
                p12: p12, password: "pw-foreign", trustRoots: [other.certificate], at: Date().addingTimeInterval(400 * 86400))
        }
        #expect(expired?.code == .chainInvalid)
        #expect(await keystoreError { try await ProfileLogin.login(p12: p12, password: "pw-foreign", trustRoots: []) }?.code == .chainInvalid)
    }

    @Test func loginRefusesKeyMismatch() async throws {
        let profile = try Profile(.p256)
        let stranger = try SigningKey.generate(.p256)
        var contents = profile.contents
        contents.key = stranger
        // The public writer refuses to produce such a file...
        #expect(keystoreError { try PKCS12.write(contents, password: "pw", cost: fastCost) }?.code == .keyMismatch)
        // ...so build it with the internal encoder.
        let p12 = try PKCS12.encode(contents, password: "pw", cost: fastCost, random: SystemRandomSource(), requireMatchingKey: false)
        let error = await keystoreError { try await ProfileLogin.login(p12: p12, password: "pw", trustRoots: [profile.ca.certificate]) }
        #expect(error?.code == .keyMismatch)
    }

    /// Requirement 8: mode, no temp file left, overwrite.
    @Test func atomicFileWritesReplacesAndCleansUp() throws {
        let dir = try TempDir()
        let target = dir.file("profile.p12")
        try AtomicFile.write(Array("first".utf8), to: target, mode: 0o600)
        #expect(try dir.read("profile.p12") == Array("first".utf8))
        let attributes = try FileManager.default.attributesOfItem(atPath: target.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        // A reader holding the old file keeps seeing the old content across the replacement (rename, not rewrite).
        let oldHandle = try FileHandle(forReadingFrom: target)
        defer { try? oldHandle.close() }
        try AtomicFile.write(Array("second, longer".utf8), to: target, mode: 0o600)
        #expect(try dir.read("profile.p12") == Array("second, longer".utf8))
        #expect(Array(try oldHandle.readToEnd() ?? Data()) == Array("first".utf8))
        #expect(try dir.contents() == ["profile.p12"])

        try AtomicFile.write(Array("public".utf8), to: dir.file("cert.pem"), mode: 0o644)
        let certMode = try FileManager.default.attributesOfItem(atPath: dir.file("cert.pem").path)[.posixPermissions] as? NSNumber
        #expect(certMode?.intValue == 0o644)
        #expect(try dir.contents() == ["cert.pem", "profile.p12"])
    }

    @Test func atomicFileFailureLeavesDestinationUntouched() throws {
        let dir = try TempDir()
        // Destination is a non-empty directory: rename fails after the temp file was written.
        let blocker = dir.file("blocked")
        try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: false)
        try dir.write("blocked/keep", "keep me")
        #expect(throws: FileFailure(.ioFailure, "")) { try AtomicFile.write(Array("new".utf8), to: blocker, mode: 0o600) }
        #expect(try dir.contents() == ["blocked"])
        #expect(try dir.read("blocked/keep") == Array("keep me".utf8))

        let missing = dir.file("no/such/dir/file.p12")
        #expect(throws: FileFailure(.ioFailure, "")) { try AtomicFile.write([1, 2, 3], to: missing, mode: 0o600) }
        #expect(try dir.contents() == ["blocked"])
    }

    /// Requirement 9.
    @Test func selfTestPassesAndLeavesNothing() async throws {
        let dir = try TempDir()
        let version = try await KeystoreSelfTest.run(in: dir.url)
        #expect(version == "Paraphe Keystore 1.0 (swift-crypto, PKCS#12 PBES2/AES-256-CBC)")
        #expect(try dir.contents().isEmpty)
        let missing = await keystoreError { try await KeystoreSelfTest.run(in: dir.file("missing")) }
        #expect(missing?.code == .ioFailure)
    }

    @Test func certificateFilePEM() throws {
        let dir = try TempDir()
        let profile = try Profile(.p256)
        let pem = try CertificateFile.pem(certificate: profile.certificate, chain: [profile.ca.certificate])
        try dir.write("chain.pem", pem)
        #expect(pem.components(separatedBy: "-----BEGIN CERTIFICATE-----").count == 3)
        let verify = try OpenSSL.run(
            ["verify", "-CAfile", "chain.pem", "-purpose", "smimesign", "chain.pem"], in: dir.url)
        #expect(verify.status == 0, "\(verify.output)")
        let first = try OpenSSL.run(["x509", "-in", "chain.pem", "-noout", "-subject"], in: dir.url)
        #expect(first.stdout.contains("Jeanne Tremblay"))
    }
}
