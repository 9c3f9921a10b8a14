import SwiftASN1

/// PKCS#8 EncryptedPrivateKeyInfo with PBES2 (same KDF/cipher as the PKCS#12 key bag); used to park a freshly generated key on disk, encrypted, before the authority is called.
public enum EncryptedPrivateKey {
    /// PEM label of an encrypted PKCS#8 key.
    public static let pemLabel = "ENCRYPTED PRIVATE KEY"

    /// Encrypts `key` with PBES2 (PBKDF2-HMAC-SHA256 at `cost`, AES-256-CBC); returns DER.
    public static func encrypt(
        _ key: SigningKey,
        password: String,
        cost: KDFCost = .standard,
        random: any RandomBytes = SystemRandomBytes()
    ) throws(KeystoreError) -> [UInt8] {
        let iterations = try cost.validatedForWriting()
        guard !password.isEmpty else { throw .weakParameters("refusing to encrypt a private key with an empty password") }
        let parameters = try PBES2Parameters.forWriting(iterations: iterations, random: random)
        var pkcs8 = try key.pkcs8DER()
        defer { KeyDerivation.zeroize(&pkcs8) }
        let symmetricKey = try parameters.deriveKey(password: password)
        return try EncryptedPrivateKeyInfo.seal(pkcs8: pkcs8, parameters: parameters, key: symmetricKey).derBytes()
    }

    /// Decrypts a DER EncryptedPrivateKeyInfo (PBES2, AES-CBC, PBKDF2 hmacWithSHA1/SHA256); a wrong password throws `wrongPassword`.
    public static func decrypt(_ der: [UInt8], password: String) throws(KeystoreError) -> SigningKey {
        guard der.count <= PKCS12.maximumFileSize else { throw .malformed("encrypted key is too large") }
        let node = try mapError(.malformed, "not DER") { try BER.parse(der) }
        return try EncryptedPrivateKeyInfo(node: node).open(password: password)
    }

    /// Decrypts a PEM "ENCRYPTED PRIVATE KEY" document.
    public static func decrypt(pem: String, password: String) throws(KeystoreError) -> SigningKey {
        try decrypt(der(fromPEM: pem), password: password)
    }

    /// PEM text ("-----BEGIN ENCRYPTED PRIVATE KEY-----", 64-column base64, trailing newline) for DER bytes.
    public static func pem(_ der: [UInt8]) -> String {
        PEMDocument(type: pemLabel, derBytes: der).pemString + "\n"
    }

    /// Extracts the DER bytes of a PEM "ENCRYPTED PRIVATE KEY" document.
    public static func der(fromPEM pem: String) throws(KeystoreError) -> [UInt8] {
        let document = try mapError(.malformed, "not a PEM document") { try PEMDocument(pemString: pem) }
        guard document.discriminator == pemLabel else {
            throw .malformed("expected a PEM \(pemLabel), found \(document.discriminator)")
        }
        return document.derBytes
    }
}
