import ParapheCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// POSIX file operations with exact modes, `fsync` and exclusive creation, which Foundation's file APIs don't give
/// precisely: the one set the authority and the workstation use.
public enum FileSystem {
    /// The `errno` text, for reasons (never contains input).
    public static func errnoText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    /// The file's permission bits and owner, or nil if it does not exist.
    ///
    /// Follows symlinks.
    public static func status(_ url: URL) throws(FileFailure) -> (mode: mode_t, owner: uid_t, isDirectory: Bool)? {
        var info = stat()
        if stat(url.path, &info) != 0 {
            if errno == ENOENT { return nil }
            throw FileFailure(.ioFailure, "cannot inspect \(url.lastPathComponent): \(errnoText())")
        }
        return (info.st_mode & 0o7777, info.st_uid, (info.st_mode & S_IFMT) == S_IFDIR)
    }

    /// The permission bits of a file, or nil if it does not exist (or cannot be inspected).
    public static func mode(of url: URL) -> mode_t? {
        (try? status(url)).flatMap { $0?.mode }
    }

    /// True if `url` is a directory this process can create files in.
    public static func isWritableDirectory(_ url: URL) -> Bool {
        guard let found = try? status(url), found.isDirectory else { return false }
        return access(url.path, W_OK | X_OK) == 0
    }

    /// Creates `url` (and missing parents) with exactly `mode` if it does not exist; returns true if it created it.
    @discardableResult
    public static func makeDirectory(_ url: URL, mode: mode_t = 0o700) throws(FileFailure) -> Bool {
        if try status(url) != nil { return false }
        let parent = url.deletingLastPathComponent()
        if parent.path != url.path, try status(parent) == nil {
            try makeDirectory(parent, mode: mode)
        }
        if mkdir(url.path, mode) != 0 {
            if errno == EEXIST { return false }
            throw FileFailure(.ioFailure, "cannot create directory \(url.lastPathComponent): \(errnoText())")
        }
        // mkdir applies the umask; make the mode exact.
        if chmod(url.path, mode) != 0 {
            throw FileFailure(.ioFailure, "cannot set mode \(octal(mode)) on \(url.lastPathComponent): \(errnoText())")
        }
        return true
    }

    /// Writes `bytes` to a new file at `url` (which must not exist) with `mode`, then fsyncs it.
    ///
    /// A file already there fails with `.exists`, so callers can pick another name.
    public static func createExclusive(_ url: URL, bytes: [UInt8], mode: mode_t) throws(FileFailure) {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd < 0 {
            if errno == EEXIST { throw FileFailure(.exists, "\(url.lastPathComponent) exists") }
            throw FileFailure(.ioFailure, "cannot create \(url.lastPathComponent): \(errnoText())")
        }
        var failure: FileFailure?
        if fchmod(fd, mode) != 0 {
            failure = FileFailure(.ioFailure, "cannot set the mode of \(url.lastPathComponent): \(errnoText())")
        }
        var offset = 0
        while failure == nil, offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = FileFailure(.ioFailure, "cannot write \(url.lastPathComponent): \(errnoText())")
            } else {
                offset += written
            }
        }
        if failure == nil, fsync(fd) != 0 {
            failure = FileFailure(.ioFailure, "cannot sync \(url.lastPathComponent): \(errnoText())")
        }
        close(fd)
        if let failure {
            unlink(url.path)
            throw failure
        }
    }

    /// Makes a completed rename or link durable by syncing the directory that holds it.
    public static func syncDirectory(_ url: URL) {
        let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Reads a whole (small) file.
    public static func read(_ url: URL) throws(FileFailure) -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw FileFailure(.ioFailure, "cannot read \(url.lastPathComponent)")
        }
    }

    /// Runs `body` holding an exclusive `flock` on `url` (created 0600 if needed).
    ///
    /// Blocks until the lock is free, so that processes sharing a directory set it up one at a time.
    public static func withExclusiveLock<T>(_ url: URL, _ body: () throws -> T) throws -> T {
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw FileFailure(.ioFailure, "cannot open lock file \(url.lastPathComponent): \(errnoText())") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw FileFailure(.ioFailure, "cannot lock \(url.lastPathComponent): \(errnoText())") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// A pipe whose ends are closed on exec (only ends made a child's standard descriptors reach it), and with
    /// `nonBlocking`, never block (to wake a loop that waits in `poll`).
    public static func pipe(nonBlocking: Bool) -> (reader: Int32, writer: Int32)? {
        var ends: [Int32] = [-1, -1]
        #if canImport(Glibc)
            guard Glibc.pipe(&ends) == 0 else { return nil }
        #elseif canImport(Musl)
            guard Musl.pipe(&ends) == 0 else { return nil }
        #else
            guard Darwin.pipe(&ends) == 0 else { return nil }
        #endif
        for descriptor in ends {
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            if nonBlocking { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) }
        }
        return (ends[0], ends[1])
    }

    /// This machine's host name, made safe for a Maildir file name.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if name.isEmpty { return "localhost" }
        return name.replacing("/", with: "\\057").replacing(":", with: "\\072")
    }

    /// The effective user id.
    public static var currentUser: uid_t { geteuid() }

    /// The process id.
    public static var processID: Int32 { getpid() }

    /// A mode as octal text (`0755`).
    public static func octal(_ mode: mode_t) -> String {
        "0" + String(mode, radix: 8)
    }
}
