import Activation
import Foundation
import Keystore

extension ActivationService {
    /// Makes a profile available to the person's applications: logs in to it (MAC, key against certificate, chain to
    /// the trusted CA, not on the authority's CRL when it can be had), then registers its token (`ProviderRegistration`).
    ///
    /// The password opens the profile here and is not kept: the applications ask for it at their own log-in.
    public func installProvider(profile: URL, password: Password, registration: ProviderRegistration) async throws -> ProviderRegistration.Report {
        let contents = try Activator.openProfile(profile, password: password)
        guard contents.key.matches(contents.certificate) else {
            throw KeystoreError.keyMismatch("the private key in the profile does not belong to its certificate")
        }
        let roots = try Components(paths: paths, authority: authority).trustedRoots()
        guard let root = roots.first else {
            throw WorkstationError(.trustStore, "no trusted CA in \(paths.trustedCA.path)", suggesting: paths.commandOptions)
        }
        try await ProfileLogin.verifyChain(contents.certificate, intermediates: contents.chain, trustRoots: roots, at: now())
        let summary = try ProfileSummary(certificate: contents.certificate, keyAlgorithm: contents.key.algorithm)
        try await ensureNotRevoked(serialHex: summary.serialHex)
        return try registration.install(profile: profile, certificate: contents.certificate, chain: contents.chain, trustedCA: root)
    }
}
