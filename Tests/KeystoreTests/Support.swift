import Activation
import Crypto
import Foundation
import ParapheTestSupport
import SwiftASN1
import Testing
import X509

@testable import Keystore

/// Result of running the openssl CLI.
struct ToolResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var output: String { stdout + stderr }
}

enum OpenSSL {
    static let path = "/usr/bin/openssl"

    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Runs openssl with `arguments` in `directory`.
    static func run(_ arguments: [String], in directory: URL) throws -> ToolResult {
        let result = try runOpenSSL(arguments, in: directory)
        return ToolResult(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    /// True when the legacy provider (RC2/3DES PKCS#12) can be loaded.
    static func hasLegacyProvider(in directory: URL) -> Bool {
        guard let result = try? run(["list", "-providers", "-provider", "legacy"], in: directory) else { return false }
        return result.status == 0 && result.stdout.contains("legacy")
    }
}

/// A temporary directory removed at the end of the test.
final class TempDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("keystore-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let target = file(name)
        try Data(bytes).write(to: target)
        return target
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL {
        try write(name, Array(text.utf8))
    }

    func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: file(name))) }

    func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() }
}

/// A tiny certificate authority for tests.
struct TestCA {
    static let documentSigning: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 3, 36]  // id-kp-documentSigning, RFC 9336

    let key: SigningKey
    let certificate: Certificate

    init(name: String = "Paraphe Test Root CA") throws {
        let caKey = try SigningKey.generate(.p256)
        key = caKey
        let subject = try DistinguishedName {
            CountryName("CA")
            OrganizationName("Paraphe Tests")
            CommonName(name)
        }
        let now = Date()
        certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: caKey.publicKey,
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: caKey.publicKey)
            },
            issuerPrivateKey: caKey.certificateKey
        )
    }

    /// Issues a document-signing leaf certificate for `publicKey`.
    func issue(
        for publicKey: Certificate.PublicKey,
        commonName: String = "Jeanne Tremblay",
        email: String = "jeanne.tremblay@example.org",
        validFor: TimeInterval = 365 * 86400
    ) throws -> Certificate {
        let now = Date()
        return try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-60),
            notValidAfter: now.addingTimeInterval(validFor),
            issuer: certificate.subject,
            subject: try DistinguishedName { CommonName(commonName) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, nonRepudiation: true))
                try ExtendedKeyUsage([.emailProtection, ExtendedKeyUsage.Usage(oid: Self.documentSigning)])
                SubjectAlternativeNames([.rfc822Name(email)])
                AuthorityKeyIdentifier(keyIdentifier: try certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: key.certificateKey
        )
    }
}

/// A key with its certificate issued by a fresh test CA.
struct Profile {
    let ca: TestCA
    let key: SigningKey
    let certificate: Certificate

    init(_ algorithm: KeyAlgorithm, ca: TestCA? = nil) throws {
        let authority = try ca ?? TestCA()
        self.ca = authority
        let newKey = try SigningKey.generate(algorithm)
        key = newKey
        certificate = try authority.issue(for: newKey.publicKey)
    }

    var contents: PKCS12Contents {
        PKCS12Contents(key: key, certificate: certificate, chain: [ca.certificate], friendlyName: "Jeanne Tremblay (Paraphe)")
    }
}

/// Deterministic "random" bytes for reproducibility tests.
struct CountingRandom: RandomSource {
    let seed: UInt8
    func bytes(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) } }
}

let fastCost = KDFCost(iterations: 2_048)

extension Certificate {
    var pem: String { get throws { try serializeAsPEM().pemString + "\n" } }
    var der: [UInt8] {
        get throws {
            var s = DER.Serializer()
            try s.serialize(self)
            return s.serializedBytes
        }
    }
}

extension SigningKey {
    var pkcs8PEM: String { get throws { PEMDocument(type: "PRIVATE KEY", derBytes: try pkcs8DER()).pemString + "\n" } }
}

/// Runs `body` and returns the KeystoreError it throws (nil when it throws nothing).
func keystoreError<T>(_ body: () throws -> T) -> KeystoreError? {
    do {
        _ = try body()
        return nil
    } catch let error as KeystoreError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

func keystoreError<T>(_ body: () async throws -> T) async -> KeystoreError? {
    do {
        _ = try await body()
        return nil
    } catch let error as KeystoreError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}
