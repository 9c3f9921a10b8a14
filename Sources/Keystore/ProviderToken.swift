import SwiftASN1
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// One profile made available to the workstation's applications through the security provider (the PKCS#11 module).
///
/// What `paraphe profile install` writes and the module reads, one file per profile in the user's token directory
/// (`ProviderToken.directory`), `LABEL.token`:
///
///     # Paraphe security provider: one token (written by `paraphe profile install`; no secret).
///     label = jeanne-tremblay
///     profile = /home/jeanne/.local/share/paraphe/profiles/jeanne-tremblay.p12
///     -----BEGIN CERTIFICATE-----        (the profile's certificate, then its CA chain)
///
/// The certificates are public: the module shows them before the log-in (an application lists the person's
/// certificate before asking for the password). The key stays in the profile, opened only at the log-in.
public struct ProviderToken: Sendable, Equatable {
    /// The token's label: the profile's name (its file name without `.p12`).
    public var label: String
    /// Absolute path of the profile (`NAME.p12`).
    public var profile: String
    /// DER certificates: the profile's own first, then its CA chain (issuer first).
    public var certificates: [[UInt8]]

    /// Largest token file read.
    public static let maximumFileSize = 64 * 1024
    /// Most token files read (profiles installed at once).
    public static let maximumTokens = 16
    /// Most certificates in one token file.
    public static let maximumCertificates = 8
    /// Longest label (PKCS#11's token label field).
    public static let maximumLabelBytes = 32

    /// Creates a token record.
    public init(label: String, profile: String, certificates: [[UInt8]]) {
        self.label = label
        self.profile = profile
        self.certificates = certificates
    }

    /// The user's token directory: `$XDG_CONFIG_HOME/paraphe/tokens`, else `~/.config/paraphe/tokens` (the home
    /// directory from `HOME`, else the password database).
    ///
    /// A set-user-ID or set-group-ID host takes neither variable from its environment (as glibc's
    /// `secure_getenv`).
    public static func directory() -> String? {
        if let xdg = environment("XDG_CONFIG_HOME"), xdg.hasPrefix("/") { return xdg + "/paraphe/tokens" }
        if let home = environment("HOME"), home.hasPrefix("/") { return home + "/.config/paraphe/tokens" }
        guard let entry = getpwuid(getuid()), let directory = entry.pointee.pw_dir else { return nil }
        let home = String(cString: directory)
        return home.hasPrefix("/") ? home + "/.config/paraphe/tokens" : nil
    }

    private static func environment(_ name: String) -> String? {
        guard getuid() == geteuid(), getgid() == getegid(), let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// The file name of this token in the directory.
    public var fileName: String { label + ".token" }

    /// A label from a profile's file name: the name without `.p12`, cut to 32 bytes on a character boundary.
    public static func label(forProfileNamed name: String) -> String {
        var label = name.hasSuffix(".p12") ? String(name.dropLast(4)) : name
        label = String(label.unicodeScalars.filter { $0.value >= 0x20 && $0 != "/" && $0.value != 0x7F }.map(Character.init))
        while label.utf8.count > maximumLabelBytes { label.removeLast() }
        return label.isEmpty ? "profile" : label
    }

    /// The file's text.
    public func encoded() throws(KeystoreError) -> String {
        var text = "# Paraphe security provider: one token (written by `paraphe profile install`; no secret).\n"
        text += "label = \(label)\nprofile = \(profile)\n"
        for der in certificates {
            text += PEMDocument(type: "CERTIFICATE", derBytes: der).pemString + "\n"
        }
        return text
    }

    /// Parses a token file; nil for anything but a well-formed one (bounded; the module skips such a file).
    public static func parse(_ bytes: [UInt8]) -> ProviderToken? {
        guard bytes.count <= maximumFileSize, let text = String(validating: bytes, as: UTF8.self) else { return nil }
        var label: String?
        var profile: String?
        var pemStart: String.Index?
        var index = text.startIndex
        while index < text.endIndex {
            let end = text[index...].firstIndex(of: "\n") ?? text.endIndex
            let line = text[index..<end]
            if line.hasPrefix("-----BEGIN ") {
                pemStart = index
                break
            }
            let trimmed = line.drop(while: { $0 == " " })
            if !trimmed.isEmpty, !trimmed.hasPrefix("#") {
                guard let equals = trimmed.firstIndex(of: "=") else { return nil }
                let key = trimmed[..<equals].trimmingSpaces
                let value = trimmed[trimmed.index(after: equals)...].trimmingSpaces
                switch key {
                case "label" where label == nil: label = String(value)
                case "profile" where profile == nil: profile = String(value)
                default: return nil
                }
            }
            index = end < text.endIndex ? text.index(after: end) : end
        }
        guard let label, !label.isEmpty, label.utf8.count <= maximumLabelBytes, !label.contains("/"),
            let profile, profile.hasPrefix("/"), let pemStart
        else { return nil }
        guard let documents = try? PEMDocument.parseMultiple(pemString: String(text[pemStart...])),
            (1...maximumCertificates).contains(documents.count),
            documents.allSatisfy({ $0.discriminator == "CERTIFICATE" })
        else { return nil }
        let certificates = documents.map(\.derBytes)
        // Each must be a certificate: the module reads their fields without a second look.
        guard certificates.allSatisfy({ (try? Certificate(derEncoded: $0)) != nil }) else { return nil }
        return ProviderToken(label: label, profile: profile, certificates: certificates)
    }

    /// The tokens in `directory` (files `*.token`, by name; unreadable or malformed ones are skipped; at most
    /// `maximumTokens`).
    public static func loadAll(from directory: String) -> [ProviderToken] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream), names.count < 256 {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasSuffix(".token"), !name.hasPrefix(".") { names.append(name) }
        }
        var tokens: [ProviderToken] = []
        for name in names.sorted() where tokens.count < maximumTokens {
            guard let bytes = readFile(directory + "/" + name, limit: maximumFileSize), let token = parse(bytes),
                !tokens.contains(where: { $0.label == token.label })
            else { continue }
            tokens.append(token)
        }
        return tokens
    }

    /// Reads a regular file of at most `limit` bytes (nil otherwise), with plain system calls.
    public static func readFile(_ path: String, limit: Int) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, Int(status.st_size) <= limit else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress.map { $0 + filled }, buffer.count - filled)
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            filled += count
        }
        return bytes
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" || text.last == "\r" { text.removeLast() }
        return text
    }
}
