import Activation
import Crypto
import Foundation
import ParapheShared
import SwiftASN1
import Testing
import X509

@testable import Keystore

@Suite("PKCS#12 format, KDFs and hostile input")
struct PKCS12FormatTests {
    /// The RFC 7292 Appendix B KDF and PBKDF2 agree with OpenSSL's own implementations (`openssl kdf`).
    @Test(.enabled(if: OpenSSL.isAvailable), arguments: [PBEHash.sha256, .sha1])
    func kdfMatchesOpenSSL(_ hash: PBEHash) throws {
        let dir = try TempDir()
        let password = "Jeanne Tremblay — clé"
        let salt: [UInt8] = (0..<20).map { UInt8($0 * 13 & 0xFF) }
        let bmp = (ASN1Support.bmpBytes(password) + [0, 0]).map { String(format: "%02x", $0) }.joined()
        let saltHex = salt.map { String(format: "%02x", $0) }.joined()
        let digest = hash == .sha256 ? "SHA256" : "SHA1"
        let result = try OpenSSL.run(
            [
                "kdf", "-keylen", "\(hash.digestLength)", "-kdfopt", "digest:\(digest)", "-kdfopt", "hexpass:\(bmp)",
                "-kdfopt", "hexsalt:\(saltHex)", "-kdfopt", "iter:3001", "-kdfopt", "id:3", "PKCS12KDF",
            ], in: dir.url)
        #expect(result.status == 0, "\(result.output)")
        let ours = try KeyDerivation.pkcs12(id: 3, password: password, salt: salt, hash: hash, iterations: 3001)
        #expect(Hex.colons(ours) == result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))

        let pbkdf2 = try OpenSSL.run(
            [
                "kdf", "-keylen", "32", "-kdfopt", "digest:\(digest)", "-kdfopt", "pass:\(password)",
                "-kdfopt", "hexsalt:\(saltHex)", "-kdfopt", "iter:3001", "PBKDF2",
            ], in: dir.url)
        let ourPBKDF2 = try KeyDerivation.pbkdf2(password: Array(password.utf8), salt: salt, prf: hash, iterations: 3001, keyLength: 32)
        #expect(
            Hex.colons(ourPBKDF2.withUnsafeBytes { Array($0) })
                == pbkdf2.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func knownAnswersHold() throws {
        try KeystoreSelfTest.knownAnswers()
    }

    /// With an injected random source the output is reproducible; salts and IVs come from it.
    @Test func outputIsDeterministicGivenRandomness() throws {
        let profile = try Profile(.p256)
        let a = try PKCS12.write(profile.contents, password: "pw", cost: fastCost, random: CountingRandom(seed: 1))
        let b = try PKCS12.write(profile.contents, password: "pw", cost: fastCost, random: CountingRandom(seed: 1))
        let c = try PKCS12.write(profile.contents, password: "pw", cost: fastCost, random: CountingRandom(seed: 2))
        let d = try PKCS12.write(profile.contents, password: "pw", cost: fastCost)
        let e = try PKCS12.write(profile.contents, password: "pw", cost: fastCost)
        #expect(a == b)
        #expect(a != c)
        #expect(d != e)
        #expect(try PKCS12.read(c, password: "pw").certificate == profile.certificate)
    }

    @Test func chainOrderAndNoFriendlyNameRoundTrip() throws {
        let root = try TestCA(name: "Root")
        let profile = try Profile(.p256, ca: root)
        let extra = try TestCA(name: "Extra")
        let contents = PKCS12Contents(key: profile.key, certificate: profile.certificate, chain: [root.certificate, extra.certificate])
        let read = try PKCS12.read(try PKCS12.write(contents, password: "pw", cost: fastCost), password: "pw")
        #expect(read.chain == [root.certificate, extra.certificate])
        #expect(read.friendlyName == nil)
        #expect(read.certificate == profile.certificate)
    }

    @Test func writerRefusesWeakOrAbsurdParameters() throws {
        let profile = try Profile(.p256)
        #expect(keystoreError { try PKCS12.write(profile.contents, password: "pw", cost: KDFCost(iterations: 1)) }?.code == .weakParameters)
        #expect(keystoreError { try PKCS12.write(profile.contents, password: "", cost: fastCost) }?.code == .weakParameters)
        #expect(
            keystoreError {
                try PKCS12.write(profile.contents, password: "pw", cost: KDFCost(iterations: 10_000_001))
            }?.code == .weakParameters)
    }

    @Test func readerRefusesGarbageAndTruncation() throws {
        let profile = try Profile(.p256)
        let p12 = try PKCS12.write(profile.contents, password: "pw", cost: fastCost)
        #expect(keystoreError { try PKCS12.read([], password: "pw") }?.code == .malformed)
        #expect(keystoreError { try PKCS12.read(Array(repeating: 0x30, count: 100), password: "pw") }?.code == .malformed)
        #expect(keystoreError { try PKCS12.read(p12 + [0], password: "pw") }?.code == .malformed)
        for cut in stride(from: 0, to: p12.count, by: max(1, p12.count / 40)) {
            #expect(keystoreError { try PKCS12.read(Array(p12.prefix(cut)), password: "pw") } != nil)
        }
        // One flipped bit inside the authenticated content: the MAC catches it (reported as wrong password / damaged file).
        var flipped = p12
        flipped[p12.count / 2] ^= 0x01
        let error = keystoreError { try PKCS12.read(flipped, password: "pw") }
        #expect(error?.code == .wrongPassword || error?.code == .malformed)
        #expect(keystoreError { try PKCS12.read(Array(repeating: 0, count: PKCS12.maximumFileSize + 1), password: "pw") }?.code == .malformed)
    }

    /// A hostile MAC iteration count is refused at once instead of hanging.
    @Test func readerRefusesAbsurdIterationCount() throws {
        func pfx(macIterations: Int, macDigest: ASN1ObjectIdentifier = OID.sha256) throws -> [UInt8] {
            var coder = DER.Serializer()
            try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.serialize(3)
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.serialize(OID.data)
                    try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
                        try coder.serialize(ASN1OctetString(contentBytes: [0x30, 0x00]))
                    }
                }
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.appendConstructedNode(identifier: .sequence) { coder in
                        try coder.serialize(AlgorithmIdentifier.withNull(macDigest))
                        try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(repeating: 0, count: 32)))
                    }
                    try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(repeating: 7, count: 16)))
                    try coder.serialize(macIterations)
                }
            }
            return coder.serializedBytes
        }
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(keystoreError { try PKCS12.read(try pfx(macIterations: 2_000_000_000), password: "pw") }?.code == .malformed)
            #expect(keystoreError { try PKCS12.read(try pfx(macIterations: 0), password: "pw") }?.code == .malformed)
        }
        #expect(elapsed < .seconds(1))
        // PBMAC1 and unknown digests are unsupported; a sane structure with a bad MAC is a wrong password.
        #expect(keystoreError { try PKCS12.read(try pfx(macIterations: 2048, macDigest: OID.pbmac1), password: "pw") }?.code == .unsupportedAlgorithm)
        #expect(keystoreError { try PKCS12.read(try pfx(macIterations: 2048), password: "pw") }?.code == .wrongPassword)
    }

    @Test func bmpAndSetOrderHelpers() throws {
        #expect(ASN1Support.bmpBytes("Aé") == [0x00, 0x41, 0x00, 0xE9])
        #expect(try ASN1Support.string(fromBMP: [0x00, 0x41, 0x00, 0xE9][...]) == "Aé")
        #expect(keystoreError { try ASN1Support.string(fromBMP: [0x00][...]) }?.code == .malformed)
        #expect(ASN1Support.setOrder([0x30, 0x01], [0x30, 0x02]))
        #expect(ASN1Support.setOrder([0x30], [0x30, 0x00]) == false)
        #expect(ASN1Support.setOrder([0x30, 0x00], [0x30]) == false)
    }

    @Test func errorsCompareByCode() {
        let a = KeystoreError.wrongPassword("one")
        let b = KeystoreError(.wrongPassword, "two")
        #expect(a == b)
        #expect(a != KeystoreError.malformed("one"))
        #expect(a.description.hasPrefix("KeystoreError.wrongPassword: one KeystoreTests/PKCS12FormatTests.swift:"))
    }

    @Test func systemRandomBytes() {
        let random = SystemRandomSource()
        #expect(random.bytes(0).isEmpty)
        #expect(random.bytes(13).count == 13)
        #expect(random.bytes(32) != random.bytes(32))
    }
}
