import AuthorityInterface
import Foundation
import ParapheShared

#if canImport(Glibc)
    import Glibc
#endif

/// The shared file operations (ParapheShared's `FileSystem`) with their failures as the authority's errors.
extension FileSystem {
    /// The file's permission bits and owner, or nil if it does not exist.
    static func status(_ url: URL, code: AuthorityError.Code) throws(AuthorityError) -> (mode: mode_t, owner: uid_t, isDirectory: Bool)? {
        do { return try status(url) } catch { throw AuthorityError(code, error.reason) }
    }

    /// Creates `url` (and missing parents) with mode 0700 if it does not exist; returns true if it created it.
    @discardableResult
    static func makeDirectory(_ url: URL, code: AuthorityError.Code) throws(AuthorityError) -> Bool {
        do { return try makeDirectory(url, mode: 0o700) } catch { throw AuthorityError(code, error.reason) }
    }

    /// Writes a new file that must not exist yet; one already there fails as `FileFailure` `.exists`, every other
    /// failure as the authority's error.
    static func createExclusive(_ url: URL, bytes: [UInt8], mode: mode_t, code: AuthorityError.Code) throws {
        do {
            try createExclusive(url, bytes: bytes, mode: mode)
        } catch  where error.code == .exists {
            throw error
        } catch {
            throw AuthorityError(code, error.reason)
        }
    }

    /// Replaces the file at `url` atomically (`AtomicFile`: a new file beside it, fsynced, renamed over it).
    static func replace(_ url: URL, bytes: [UInt8], mode: mode_t, code: AuthorityError.Code) throws(AuthorityError) {
        do { try AtomicFile.write(bytes, to: url, mode: mode) } catch { throw AuthorityError(code, error.reason) }
    }

    /// Reads a whole (small) file.
    static func read(_ url: URL, code: AuthorityError.Code) throws(AuthorityError) -> [UInt8] {
        do { return try read(url) } catch { throw AuthorityError(code, error.reason) }
    }

    /// Runs `body` holding an exclusive `flock` on `url`; failing to lock is the authority's error.
    static func withExclusiveLock<T>(_ url: URL, code: AuthorityError.Code, _ body: () throws -> T) throws -> T {
        do {
            return try withExclusiveLock(url, body)
        } catch let error as FileFailure {
            throw AuthorityError(code, error.reason)
        }
    }
}
