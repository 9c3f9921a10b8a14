import AuthorityInterface
import Foundation
import ParapheShared

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value behind a lock, for the few mutable things an otherwise immutable authority keeps.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// POSIX file operations the authority needs with exact modes, `fsync` and exclusive creation,
/// which Foundation's file APIs don't give precisely.
enum FileSystem {
    /// The `errno` text, for reasons (never contains input).
    static func errnoText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    /// The file's permission bits and owner, or nil if it does not exist.
    ///
    /// Follows symlinks.
    static func status(_ url: URL) throws(AuthorityError) -> (mode: mode_t, owner: uid_t, isDirectory: Bool)? {
        var info = stat()
        if stat(url.path, &info) != 0 {
            if errno == ENOENT { return nil }
            throw AuthorityError(.dataDirectory, "cannot inspect \(url.lastPathComponent): \(errnoText())")
        }
        return (info.st_mode & 0o7777, info.st_uid, (info.st_mode & S_IFMT) == S_IFDIR)
    }

    /// Creates `url` (and missing parents) with mode 0700 if it does not exist; returns true if it created it.
    @discardableResult
    static func makeDirectory(_ url: URL, code: AuthorityError.Code = .dataDirectory) throws(AuthorityError) -> Bool {
        if try status(url) != nil { return false }
        let parent = url.deletingLastPathComponent()
        if parent.path != url.path, try status(parent) == nil {
            try makeDirectory(parent, code: code)
        }
        if mkdir(url.path, 0o700) != 0 {
            if errno == EEXIST { return false }
            throw AuthorityError(code, "cannot create directory \(url.lastPathComponent): \(errnoText())")
        }
        // mkdir applies the umask; make the mode exact.
        if chmod(url.path, 0o700) != 0 {
            throw AuthorityError(code, "cannot set mode 0700 on \(url.lastPathComponent): \(errnoText())")
        }
        return true
    }

    /// Writes `bytes` to a new file at `url` (which must not exist) with `mode`, then fsyncs it.
    ///
    /// Throws `EEXIST` as `FileExists` so callers can pick another name.
    static func createExclusive(_ url: URL, bytes: [UInt8], mode: mode_t, code: AuthorityError.Code) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd < 0 {
            if errno == EEXIST { throw FileExists() }
            throw AuthorityError(code, "cannot create \(url.lastPathComponent): \(errnoText())")
        }
        var failure: AuthorityError?
        if fchmod(fd, mode) != 0 {
            failure = AuthorityError(code, "cannot set the mode of \(url.lastPathComponent): \(errnoText())")
        }
        var offset = 0
        while failure == nil, offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = AuthorityError(code, "cannot write \(url.lastPathComponent): \(errnoText())")
            } else {
                offset += written
            }
        }
        if failure == nil, fsync(fd) != 0 {
            failure = AuthorityError(code, "cannot sync \(url.lastPathComponent): \(errnoText())")
        }
        close(fd)
        if let failure {
            unlink(url.path)
            throw failure
        }
    }

    /// Replaces the file at `url` atomically (`AtomicFile`: a new file beside it, fsynced, renamed over it).
    static func replace(_ url: URL, bytes: [UInt8], mode: mode_t, code: AuthorityError.Code) throws(AuthorityError) {
        do {
            try AtomicFile.write(bytes, to: url, mode: mode)
        } catch {
            throw AuthorityError(code, error.reason)
        }
    }

    /// Makes a completed rename or link durable by syncing the directory that holds it.
    static func syncDirectory(_ url: URL) {
        let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Reads a whole (small) file.
    static func read(_ url: URL, code: AuthorityError.Code) throws(AuthorityError) -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw AuthorityError(code, "cannot read \(url.lastPathComponent)")
        }
    }

    /// Runs `body` holding an exclusive `flock` on `url` (created 0600 if needed).
    ///
    /// Blocks until the lock is free, so that processes sharing a data directory set it up one at a
    /// time.
    static func withExclusiveLock<T>(_ url: URL, code: AuthorityError.Code, _ body: () throws -> T) throws -> T {
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw AuthorityError(code, "cannot open lock file \(url.lastPathComponent): \(errnoText())") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw AuthorityError(code, "cannot lock \(url.lastPathComponent): \(errnoText())") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// This machine's host name, made safe for a Maildir file name.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if name.isEmpty { return "localhost" }
        return name.replacingOccurrences(of: "/", with: "\\057").replacingOccurrences(of: ":", with: "\\072")
    }

    /// The effective user id.
    static var currentUser: uid_t { geteuid() }

    /// The process id.
    static var processID: Int32 { getpid() }

    /// A mode as octal text (`0755`).
    static func octal(_ mode: mode_t) -> String {
        "0" + String(mode, radix: 8)
    }
}

/// `open(O_EXCL)` found the file already there.
struct FileExists: Error {}
