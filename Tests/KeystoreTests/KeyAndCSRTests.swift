import Activation
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import Keystore

@Suite("Keys, CSR and encrypted PKCS#8", .enabled(if: OpenSSL.isAvailable))
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

    /// Requirement 6: the encrypted PEM opens in `openssl pkey`, round-trips, and refuses a wrong password.
    @Test(arguments: [KeyAlgorithm.rsa2048, .p256])
    func encryptedPrivateKeyInterop(_ algorithm: KeyAlgorithm) throws {
        let dir = try TempDir()
        let key = try SigningKey.generate(algorithm)
        let password = "pärk-the-kéy"
        try dir.write("pw", password + "\n")
        try dir.write("bad", "park-the-key\n")
        let der = try EncryptedPrivateKey.encrypt(key, password: password, cost: fastCost)
        let pem = EncryptedPrivateKey.pem(der)
        #expect(pem.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"))
        #expect(pem.hasSuffix("-----END ENCRYPTED PRIVATE KEY-----\n"))
        try dir.write("key.pem", pem)

        let open = try OpenSSL.run(["pkey", "-in", "key.pem", "-passin", "file:pw", "-noout"], in: dir.url)
        #expect(open.status == 0, "\(open.output)")
        let pub = try OpenSSL.run(["pkey", "-in", "key.pem", "-passin", "file:pw", "-pubout"], in: dir.url)
        var spki = DER.Serializer()
        try spki.serialize(key.publicKey)
        #expect(pub.stdout == PEMDocument(type: "PUBLIC KEY", derBytes: spki.serializedBytes).pemString + "\n")
        let parse = try OpenSSL.run(["asn1parse", "-in", "key.pem"], in: dir.url)
        #expect(parse.stdout.contains("PBES2") && parse.stdout.contains("hmacWithSHA256") && parse.stdout.contains("aes-256-cbc"))
        let wrong = try OpenSSL.run(["pkey", "-in", "key.pem", "-passin", "file:bad", "-noout"], in: dir.url)
        #expect(wrong.status != 0)

        let decrypted = try EncryptedPrivateKey.decrypt(der, password: password)
        #expect(try decrypted.pkcs8DER() == key.pkcs8DER())
        #expect(try EncryptedPrivateKey.decrypt(pem: pem, password: password).publicKey == key.publicKey)
        for attempt in ["park-the-key", "", "pärk-the-kéy "] {
            #expect(keystoreError { try EncryptedPrivateKey.decrypt(der, password: attempt) }?.code == .wrongPassword)
        }
    }

    /// OpenSSL-made encrypted PKCS#8 with the SHA-1 PRF and AES-128 decrypts; DES3 is refused as unsupported.
    @Test func decryptsOpenSSLPKCS8() throws {
        let dir = try TempDir()
        let key = try SigningKey.generate(.p256)
        try dir.write("k.pem", try key.pkcs8PEM)
        try dir.write("pw", "openssl-pkcs8\n")
        let sha1 = try OpenSSL.run(
            ["pkcs8", "-topk8", "-in", "k.pem", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1", "-passout", "file:pw",
             "-outform", "DER", "-out", "sha1.der"], in: dir.url)
        #expect(sha1.status == 0, "\(sha1.output)")
        #expect(try EncryptedPrivateKey.decrypt(try dir.read("sha1.der"), password: "openssl-pkcs8").publicKey == key.publicKey)

        let des = try OpenSSL.run(
            ["pkcs8", "-topk8", "-in", "k.pem", "-v2", "des3", "-passout", "file:pw", "-outform", "DER", "-out", "des.der"], in: dir.url)
        #expect(des.status == 0, "\(des.output)")
        #expect(keystoreError { try EncryptedPrivateKey.decrypt(try dir.read("des.der"), password: "openssl-pkcs8") }?.code == .unsupportedAlgorithm)
    }

    @Test func encryptRefusesWeakSettings() throws {
        let key = try SigningKey.generate(.p256)
        #expect(keystoreError { try EncryptedPrivateKey.encrypt(key, password: "x", cost: KDFCost(iterations: 10)) }?.code == .weakParameters)
        #expect(keystoreError { try EncryptedPrivateKey.encrypt(key, password: "", cost: fastCost) }?.code == .weakParameters)
        #expect(keystoreError { try EncryptedPrivateKey.encrypt(key, password: "x", cost: KDFCost(iterations: 20_000_000)) }?.code == .weakParameters)
        #expect(keystoreError { try EncryptedPrivateKey.der(fromPEM: try key.pkcs8PEM) }?.code == .malformed)
    }
}
