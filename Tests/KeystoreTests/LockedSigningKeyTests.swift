import Activation
import Crypto
import Foundation
import Testing
import _CryptoExtras

@testable import Keystore

@Suite("The security provider's key in locked memory")
struct LockedSigningKeyTests {
    /// Every RSA scheme, 80 signatures in turn (the shared blinding is renewed after 32 uses, twice here): each one
    /// verifies with the certificate's public key, and PKCS #1 v1.5 signatures, being deterministic, equal those of
    /// the key in ordinary memory.
    @Test(arguments: [KeyAlgorithm.rsa2048, .rsa3072])
    func rsaSignaturesVerifyAcrossBlindingRenewals(_ algorithm: KeyAlgorithm) throws {
        let profile = try Profile(algorithm)
        let locked = try PKCS12.openLocked(try PKCS12.write(profile.contents, password: "pw", cost: fastCost), password: "pw")
        guard case .rsa(let ordinary) = profile.key.backing else { throw KeystoreError(.unsupportedAlgorithm, "not RSA") }
        let publicKey = ordinary.publicKey
        let digestInfo256: [UInt8] = [
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
        ]
        for round in 0..<80 {
            let message = Array("Je soussignée, Jeanne Tremblay, page \(round).".utf8)
            switch round % 5 {
            case 0:
                let digest = SHA256.hash(data: message)
                let signature = try locked.key.sign(Array(digest), scheme: .rsaPKCS1(.sha256))
                #expect(publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: .insecurePKCS1v1_5))
                #expect(signature == Array(try ordinary.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation))
            case 1:
                let digest = SHA384.hash(data: message)
                let signature = try locked.key.sign(Array(digest), scheme: .rsaPKCS1(.sha384))
                #expect(publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: .insecurePKCS1v1_5))
            case 2:
                let digest = SHA512.hash(data: message)
                let signature = try locked.key.sign(Array(digest), scheme: .rsaPSS(hash: .sha512, mgf: .sha512, saltLength: 64))
                #expect(publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: .PSS))
            case 3:
                let digest = SHA256.hash(data: message)
                let signature = try locked.key.sign(Array(digest), scheme: .rsaPSS(hash: .sha256, mgf: .sha256, saltLength: 32))
                #expect(publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: .PSS))
            default:
                let digest = SHA256.hash(data: message)
                let signature = try locked.key.sign(digestInfo256 + Array(digest), scheme: .rsaPKCS1Encoded)
                #expect(publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: .insecurePKCS1v1_5))
            }
        }
    }

    /// Input the schemes cannot take is refused as invalid input, and a wiped key signs nothing.
    @Test func wrongInputIsRefusedAndAWipedKeySignsNothing() throws {
        let profile = try Profile(.rsa2048)
        let locked = try PKCS12.openLocked(try PKCS12.write(profile.contents, password: "pw", cost: fastCost), password: "pw")
        #expect(keystoreError { try locked.key.sign([UInt8](repeating: 1, count: 31), scheme: .rsaPKCS1(.sha256)) }?.code == .invalidInput)
        #expect(keystoreError { try locked.key.sign([UInt8](repeating: 1, count: 246), scheme: .rsaPKCS1Encoded) }?.code == .invalidInput)
        #expect(
            keystoreError { try locked.key.sign([UInt8](repeating: 1, count: 32), scheme: .rsaPSS(hash: .sha256, mgf: .sha256, saltLength: 300)) }?
                .code == .invalidInput)
        #expect(keystoreError { try locked.key.sign([UInt8](repeating: 1, count: 32), scheme: .ecdsa) }?.code == .invalidInput)
        locked.key.wipe()
        #expect(keystoreError { try locked.key.sign([UInt8](repeating: 1, count: 32), scheme: .rsaPKCS1(.sha256)) } != nil)
    }
}
