import Activation
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import Keystore

@Suite("Keys and CSR", .enabled(if: OpenSSL.isAvailable))
struct KeyAndCSRTests {
    /// Requirement 5: OpenSSL verifies the CSR's proof of possession and sees the CN and e-mail SAN.
    @Test(arguments: [KeyAlgorithm.rsa2048, .p256])
    func csrVerifiesInOpenSSL(_ algorithm: KeyAlgorithm) throws {
        let dir = try TempDir()
        let key = try SigningKey.generate(algorithm)
        let der = try CertificateRequest.make(key: key, commonName: "Jeanne Tremblay", email: "jeanne.tremblay@example.org")
        try dir.write("csr.pem", CertificateRequest.pem(der))

        let verify = try OpenSSL.run(["req", "-in", "csr.pem", "-verify", "-noout"], in: dir.url)
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.localizedCaseInsensitiveContains("verify OK"))

        let text = try OpenSSL.run(["req", "-in", "csr.pem", "-noout", "-text"], in: dir.url)
        #expect(text.status == 0)
        #expect(text.stdout.contains("CN = Jeanne Tremblay"))
        #expect(text.stdout.contains("email:jeanne.tremblay@example.org"))
        #expect(text.stdout.contains("Requested Extensions"))

        // swift-certificates agrees, and the CSR carries our public key.
        let csr = try CertificateSigningRequest(derEncoded: der)
        #expect(csr.publicKey == key.publicKey)
        #expect(csr.publicKey.isValidSignature(csr.signature, for: csr))
    }

    @Test func csrRejectsBadInput() throws {
        let key = try SigningKey.generate(.p256)
        #expect(keystoreError { try CertificateRequest.make(key: key, commonName: "  ", email: "a@example.org") }?.code == .invalidInput)
        #expect(keystoreError { try CertificateRequest.make(key: key, commonName: "A", email: "not an email") }?.code == .invalidInput)
        #expect(keystoreError { try CertificateRequest.make(key: key, commonName: "A", email: "é@example.org") }?.code == .invalidInput)
    }

    @Test(arguments: KeyAlgorithm.allCases)
    func pkcs8RoundTrip(_ algorithm: KeyAlgorithm) throws {
        let key = try SigningKey.generate(algorithm)
        #expect(key.algorithm == algorithm)
        let reloaded = try SigningKey(pkcs8DER: try key.pkcs8DER())
        #expect(reloaded.algorithm == algorithm)
        #expect(reloaded.publicKey == key.publicKey)
        #expect(try reloaded.pkcs8DER() == key.pkcs8DER())
        #expect(key.publicKey != (try SigningKey.generate(algorithm)).publicKey)
    }

    @Test func pkcs8RejectsOtherKeys() throws {
        let dir = try TempDir()
        #expect(keystoreError { try SigningKey(pkcs8DER: [0x30, 0x03, 0x02, 0x01, 0x00]) }?.code == .malformed)
        #expect(keystoreError { try SigningKey(pkcs8DER: []) }?.code == .malformed)
        // OpenSSL-generated PKCS#8 keys: Ed25519 and P-384 are refused as unsupported, P-256 and RSA load.
        func generate(_ name: String, _ options: [String]) throws -> [UInt8] {
            let gen = try OpenSSL.run(["genpkey"] + options + ["-out", "\(name).pem"], in: dir.url)
            let convert = try OpenSSL.run(
                ["pkcs8", "-topk8", "-nocrypt", "-in", "\(name).pem", "-outform", "DER", "-out", "\(name).der"], in: dir.url)
            #expect(gen.status == 0 && convert.status == 0)
            return try dir.read("\(name).der")
        }
        let ed = try generate("ed", ["-algorithm", "ed25519"])
        #expect(keystoreError { try SigningKey(pkcs8DER: ed) }?.code == .unsupportedAlgorithm)
        let p384 = try generate("p384", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"])
        #expect(keystoreError { try SigningKey(pkcs8DER: p384) }?.code == .unsupportedAlgorithm)
        let rsa1024 = try generate("rsa1024", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"])
        #expect(keystoreError { try SigningKey(pkcs8DER: rsa1024) }?.code == .unsupportedAlgorithm)
        let p256 = try generate("p256", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        #expect(try SigningKey(pkcs8DER: p256).algorithm == .p256)
        let rsa = try generate("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"])
        #expect(try SigningKey(pkcs8DER: rsa).algorithm == .rsa3072)
    }
}
