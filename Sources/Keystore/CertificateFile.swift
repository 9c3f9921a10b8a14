import SwiftASN1
import X509

/// Certificate files for the user (PEM).
public enum CertificateFile {
    /// PEM text: the certificate, then the CA chain.
    public static func pem(certificate: Certificate, chain: [Certificate]) throws(KeystoreError) -> String {
        try mapError(.malformed, "could not encode a certificate as PEM") {
            var text = ""
            for item in [certificate] + chain {
                text += try item.serializeAsPEM().pemString
                text += "\n"
            }
            return text
        }
    }
}
