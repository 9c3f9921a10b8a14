import Activation
import Foundation
import Keystore
import X509

extension ActivationService {
    /// Changes a profile's password: opens it with `current` (a wrong one is refused and changes
    /// nothing), checks `new` against the same policy as at activation (with the certificate's name and
    /// email), writes the same key, certificate and chain under `new` at the same KDF cost, and replaces
    /// the file atomically. The old password no longer opens it.
    public func changePassword(profile: URL, current: Password, new: Password, confirmation: Password) async throws -> ActivationSummary {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: profile))
        } catch {
            throw WorkstationError(.login, "cannot read \(profile.path)")
        }
        let contents = try PKCS12.read(bytes, password: current.revealed)
        let name = contents.friendlyName ?? contents.certificate.subject.commonNameText ?? ""
        let email = (try? contents.certificate.extensions.subjectAlternativeNames)?.compactMap { name -> String? in
            if case .rfc822Name(let address) = name { return address }
            return nil
        }.first ?? ""
        try passwordPolicy.validate(new, confirmation: confirmation, name: name, email: email)
        let rewritten = try PKCS12.write(contents, password: new.revealed, cost: cost)
        try AtomicFile.write(rewritten, to: profile, mode: 0o600)
        return try await logIn(profile: profile, password: new)
    }
}

extension DistinguishedName {
    /// The first common name, as text.
    var commonNameText: String? {
        for rdn in self {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let text = String(attribute.value) { return text }
            }
        }
        return nil
    }
}
