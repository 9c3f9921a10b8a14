import Authority
import AuthorityInterface
import NIOSSL
import PostgresNIO

extension PostgresLocation {
    /// postgres-nio's TLS setting for this location.
    func tls() throws -> PostgresClient.Configuration.TLS {
        guard requireTLS else { return .disable }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let rootCertificate {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificate))
            } catch {
                throw AuthorityError(.badRequest, "cannot read the database's root certificate \(rootCertificate)")
            }
        }
        return .require(configuration)
    }
}
