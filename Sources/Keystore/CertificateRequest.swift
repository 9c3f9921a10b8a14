import SwiftASN1
import X509

/// PKCS#10 certificate signing requests.
public enum CertificateRequest {
    /// PKCS#10 CSR signed by the key (proof of possession); subject CN = commonName, and an extensionRequest with SAN rfc822Name = email.
    ///
    /// Returns DER.
    public static func make(key: SigningKey, commonName: String, email: String) throws(KeystoreError) -> [UInt8] {
        let trimmedName = commonName.trimmingWhitespace
        guard !trimmedName.isEmpty, trimmedName.unicodeScalars.count <= 64 else {
            throw .invalidInput("the common name must be 1 to 64 characters long")
        }
        guard isPlausibleEmail(email) else {
            throw .invalidInput("the e-mail address is not a plain ASCII addr-spec")
        }
        return try mapError(.cryptoFailure, "could not build the certificate signing request") {
            let subject = try DistinguishedName {
                CommonName(trimmedName)
            }
            let extensions = try Certificate.Extensions {
                SubjectAlternativeNames([.rfc822Name(email)])
            }
            var attributes = CertificateSigningRequest.Attributes()
            attributes.insert(try .init(ExtensionRequest(extensions: extensions)))
            let csr = try CertificateSigningRequest(
                version: .v1,
                subject: subject,
                privateKey: key.certificateKey,
                attributes: attributes,
                signatureAlgorithm: key.algorithm.signatureAlgorithm
            )
            var serializer = DER.Serializer()
            try serializer.serialize(csr)
            return serializer.serializedBytes
        }
    }

    /// PEM ("CERTIFICATE REQUEST") text for a DER CSR.
    public static func pem(_ der: [UInt8]) -> String {
        PEMDocument(type: "CERTIFICATE REQUEST", derBytes: der).pemString + "\n"
    }

    /// rfc822Name must be IA5 (ASCII): local@domain, no spaces or control characters.
    static func isPlausibleEmail(_ email: String) -> Bool {
        guard email.utf8.count <= 254, email.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return false }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
        else { return false }
        return true
    }
}

extension String {
    var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
