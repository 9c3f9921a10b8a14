import Activation
import Foundation

/// Where Paraphe keeps its files on this workstation.
public struct WorkstationPaths: Sendable, Equatable {
    /// The data directory (registry, mail, CA, trust store, pending keys).
    public var dataDirectory: URL
    /// Where profiles (`NAME.p12`, `NAME.pem`) are written.
    public var profileDirectory: URL
    /// Whether the profile folder was chosen (`--profile-dir`) rather than the data directory's own.
    public let profileDirectoryChosen: Bool

    public init(dataDirectory: URL, profileDirectory: URL? = nil) {
        self.dataDirectory = dataDirectory.standardizedFileURL
        self.profileDirectory = (profileDirectory ?? dataDirectory.appendingPathComponent("profiles")).standardizedFileURL
        profileDirectoryChosen = profileDirectory != nil
    }

    /// What a command suggested to the person must carry to work on these folders.
    public var commandOptions: CommandOptions {
        CommandOptions(dataDirectory: dataDirectory.path, profileDirectory: profileDirectoryChosen ? profileDirectory.path : nil)
    }

    /// The local trust store: the authority's CA certificate, installed by the activation manager.
    public var trustStore: URL { dataDirectory.appendingPathComponent("trust") }
    /// The trusted CA certificate file.
    public var trustedCA: URL { trustStore.appendingPathComponent("paraphe-ca.pem") }
    /// The authority's customer service as last published (`GET /api/v1/about`), for messages before it is reached.
    public var customerServiceFile: URL { dataDirectory.appendingPathComponent("authority-contact.json") }

    /// What `customerServiceFile` holds, checked as when it came (nil: nothing, or nothing that can be shown).
    public func storedCustomerService() -> CustomerService? {
        guard let data = FileManager.default.contents(atPath: customerServiceFile.path), data.count <= 16 * 1024,
            let stored = try? JSONDecoder().decode(CustomerService.self, from: data)
        else { return nil }
        return try? stored.validated()
    }

    /// Whom messages send the person to, known without asking anyone: `local` (the workstation's own help desk), else the
    /// authority's customer service as this workstation last learnt it.
    public func knownCustomerService(local: CustomerService?) -> CustomerService? {
        local ?? storedCustomerService()
    }
    /// Encrypted keys parked while an activation is in flight (resume after a crash).
    public var pendingKeys: URL { dataDirectory.appendingPathComponent("keystore/pending") }
    /// One small file per application activated on this workstation, naming its profile (no secret).
    public var activatedProfiles: URL { dataDirectory.appendingPathComponent("keystore/activated") }
}
