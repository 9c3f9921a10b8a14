import Activation
import Authority
import AuthorityInterface
import AuthorityWire
import CMP
import Crypto
import Foundation
import Keystore
import OperatorCommands
import ParapheCLI
import RevocationList
import SwiftASN1
import Terminal
import X509

/// Every parser that takes bytes from outside, one entry each, as the fuzzers (`fuzz/`, libFuzzer) and the test
/// suite's corpus replay (`FuzzCorpusTests`) drive them: an input must be refused with an error or accepted —
/// never crash, hang or allocate without bound.
///
/// Each entry also checks what must hold of what it accepts.
public enum FuzzEntries {
    public static let targets: [(name: String, run: @Sendable ([UInt8]) -> Void)] = [
        ("cmp", cmp), ("pkcs12", pkcs12), ("pem", pem), ("pkcs10", pkcs10), ("crl", crl), ("keyboard", keyboard), ("json", json),
        ("toml", toml), ("database-url", databaseURL), ("link", link), ("proxy", proxy), ("token", token),
    ]

    /// The entry named `name`.
    public static func target(_ name: String) -> (@Sendable ([UInt8]) -> Void)? {
        targets.first { $0.name == name }?.run
    }

    /// A security provider's token file (`~/.config/paraphe/tokens/LABEL.token`), as the PKCS#11 module reads it in
    /// any host process: what parses has a label, an absolute profile path and certificates, and writes out again
    /// to the same record.
    static func token(_ bytes: [UInt8]) {
        guard let token = ProviderToken.parse(bytes) else { return }
        precondition(!token.label.isEmpty && token.label.utf8.count <= ProviderToken.maximumLabelBytes && token.profile.hasPrefix("/"))
        precondition((1...ProviderToken.maximumCertificates).contains(token.certificates.count))
        if let text = try? token.encoded() { precondition(ProviderToken.parse(Array(text.utf8)) == token) }
    }

    /// A CMP message as the authority's responder and the client read it: the message, its protection's algorithm and
    /// PBM parameters, its body's requests; what parses must encode again.
    static func cmp(_ bytes: [UInt8]) {
        guard let message = try? PKIMessage(derEncoded: bytes) else { return }
        _ = message.protectionKind
        _ = message.passwordBasedMAC
        _ = ParapheCMP.token(in: message.header)
        if let key = try? message.passwordBasedMACKey(secret: Array("fuzz".utf8), maxIterations: 64) { _ = try? message.verifyProtection(key: key) }
        switch message.body {
        case .ir(let requests), .cr(let requests), .kur(let requests):
            for request in requests.prefix(4) { _ = try? request.verifyProofOfPossession() }
        default: break
        }
        guard (try? message.serialized()) != nil else { fatalError("a parsed PKIMessage does not encode again") }
    }

    /// A PKCS#12 file opened with a password (the profile log-in and `profile verify`).
    static func pkcs12(_ bytes: [UInt8]) {
        _ = try? PKCS12.read(bytes, password: "fuzz")
    }

    /// PEM text: a trust store or certificate file (several certificates), a CRL's PEM.
    static func pem(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        if let documents = try? PEMDocument.parseMultiple(pemString: text) {
            for document in documents.prefix(8) { _ = try? Certificate(pemDocument: document) }
        }
        _ = try? CertificateRevocationList(pemEncoded: text, issuer: issuer)
    }

    /// A PKCS#10 request as the authority takes it (`p10cr`, the embedded issuance): parsed, signature checked.
    static func pkcs10(_ bytes: [UInt8]) {
        _ = try? VerifiedRequest(der: bytes)
    }

    /// A CRL (DER) as the workstation reads the authority's.
    static func crl(_ bytes: [UInt8]) {
        _ = try? CertificateRevocationList(derEncoded: bytes, issuer: issuer)
    }

    /// Keyboard bytes (escape sequences, UTF-8, bracketed paste), fed in two chunks, then flushed.
    static func keyboard(_ bytes: [UInt8]) {
        var decoder = InputDecoder()
        let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        _ = decoder.feed(bytes[..<cut])
        _ = decoder.feed(bytes[cut...])
        _ = decoder.flush()
    }

    /// The API's JSON bodies: the requests the service decodes and the answers the client decodes.
    static func json(_ bytes: [UInt8]) {
        let data = Data(bytes)
        let decoder = WireFormat.decoder
        _ = try? decoder.decode(WireFormat.IdentityRequest.self, from: data)
        _ = try? decoder.decode(WireFormat.RenewalRequest.self, from: data)
        _ = try? decoder.decode(WireFormat.RecoveryRequest.self, from: data)
        _ = try? decoder.decode(WireFormat.Overview.self, from: data).decoded()
        _ = try? decoder.decode(WireFormat.IdentityResponse.self, from: data).decoded()
        _ = try? decoder.decode(WireFormat.RenewalResponse.self, from: data).decoded()
        _ = (try? decoder.decode(WireError.self, from: data))?.activationError
        _ = try? decoder.decode(WireFormat.About.self, from: data).decoded()
    }

    /// A workstation's configuration file, and an authority's customer-service file.
    static func toml(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        _ = try? WorkstationConfiguration.parse(text, source: nil)
        if let table = try? TOMLText.parse(text, path: "customer-service.toml") {
            _ = try? CustomerService.parse(table, section: "", path: "customer-service.toml")
        }
    }

    /// `--database` as the operator writes it.
    static func databaseURL(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        _ = try? DatabaseLocation(parsing: text)
    }

    /// What a person types or pastes: the activation link or token, the reference number, an operator's revocation
    /// target, a fingerprint.
    static func link(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        if let token = try? ApplicationToken(parsing: text), (try? ApplicationToken(parsing: token.formatted)) != token {
            fatalError("a token does not parse back from its own form")
        }
        if let reference = try? ReferenceNumber(parsing: text), (try? ReferenceNumber(parsing: reference.formatted)) != reference {
            fatalError("a reference number does not parse back from its own form")
        }
        _ = try? RevocationTarget(parsing: text)
        _ = InputText.clean(text, limit: 128)
    }

    /// A load balancer's PROXY protocol v2 header, and `--trusted-proxy` ranges.
    static func proxy(_ bytes: [UInt8]) {
        switch ProxyHeader.parse(bytes) {
        case .local(let length), .proxied(_, let length):
            guard length <= bytes.count, length <= 16 + ProxyHeader.maximumBody else { fatalError("a header longer than its bytes") }
        case .needMore, .invalid:
            break
        }
        if let range = try? AddressRange(parsing: String(decoding: bytes, as: UTF8.self)) { _ = range.contains(ip: "192.0.2.1") }
    }

    /// A CA certificate to check CRLs against (made once, in memory).
    static let issuer: Certificate = {
        let key = P256.Signing.PrivateKey()
        let name = try? DistinguishedName { CommonName("Fuzz CA") }
        let certificate = try? Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: Date(timeIntervalSince1970: 0), notValidAfter: Date(timeIntervalSince1970: 4_000_000_000),
            issuer: name ?? DistinguishedName(), subject: name ?? DistinguishedName(), signatureAlgorithm: .ecdsaWithSHA256,
            extensions: Certificate.Extensions(), issuerPrivateKey: .init(key))
        guard let certificate else { fatalError("cannot make the fuzzers' CA certificate") }
        return certificate
    }()
}
