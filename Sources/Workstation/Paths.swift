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
    /// Encrypted keys parked while an activation is in flight (resume after a crash).
    public var pendingKeys: URL { dataDirectory.appendingPathComponent("keystore/pending") }
    /// One small file per application activated on this workstation, naming its profile (no secret).
    public var activatedProfiles: URL { dataDirectory.appendingPathComponent("keystore/activated") }
}

/// Small POSIX helpers shared by the workstation code.
enum FileSystem {
    /// Creates `url` (and parents) with `mode` if missing; returns true if it was created.
    @discardableResult
    static func makeDirectory(_ url: URL, mode: mode_t) throws -> Bool {
        if FileManager.default.fileExists(atPath: url.path) { return false }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: Int(mode)])
        chmod(url.path, mode)
        return true
    }

    /// The permission bits of a file, or nil if it does not exist.
    static func mode(of url: URL) -> mode_t? {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return nil }
        return info.st_mode & 0o7777
    }

    /// True if `url` is a directory this process can create files in.
    static func isWritableDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
            && access(url.path, W_OK | X_OK) == 0
    }
}
