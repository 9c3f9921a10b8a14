import ParapheCore
import ParapheShared

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

/// Crash-safe file replacement.
public enum AtomicFile {
    /// Write to a temp file in the same directory (name starting with "." and ending ".tmp"), fsync it, chmod to `mode`, rename over `url`, fsync the directory.
    ///
    /// On any error the temp file is removed and the destination is untouched.
    public static func write(_ bytes: [UInt8], to url: URL, mode: mode_t) throws(KeystoreError) {
        guard url.isFileURL else { throw .invalidInput("the destination is not a file URL") }
        let destination = url.standardizedFileURL
        let name = destination.lastPathComponent
        guard !name.isEmpty, name != "/", name != ".", name != ".." else {
            throw .invalidInput("the destination has no file name")
        }
        let directory = destination.deletingLastPathComponent()
        let suffix = Hex.lowercase(SystemRandomSource().bytes(6))
        let temporary = directory.appendingPathComponent(".\(name).\(suffix).tmp")
        let temporaryPath = temporary.path
        let destinationPath = destination.path

        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .ioFailure("cannot create a temporary file in \(directory.path): \(errnoText())") }

        var renamed = false
        defer {
            if !renamed { unlink(temporaryPath) }
        }
        try fillAndClose(fd, bytes, mode: mode)
        guard rename(temporaryPath, destinationPath) == 0 else {
            throw .ioFailure("cannot rename the temporary file over \(destinationPath): \(errnoText())")
        }
        renamed = true

        let directoryFD = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { throw .ioFailure("written, but cannot open the directory to sync it: \(errnoText())") }
        defer { close(directoryFD) }
        if fsync(directoryFD) != 0, errno != EINVAL, errno != ENOTSUP {
            throw .ioFailure("written, but syncing the directory failed: \(errnoText())")
        }
    }

    private static func fillAndClose(_ fd: Int32, _ bytes: [UInt8], mode: mode_t) throws(KeystoreError) {
        defer { close(fd) }
        try writeAll(fd, bytes)
        guard fsync(fd) == 0 else { throw .ioFailure("fsync of the temporary file failed: \(errnoText())") }
        guard fchmod(fd, mode) == 0 else { throw .ioFailure("chmod of the temporary file failed: \(errnoText())") }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(KeystoreError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return systemWrite(fd, base + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw .ioFailure("writing the temporary file failed: \(errnoText())")
            }
            if written == 0 { throw .ioFailure("writing the temporary file made no progress") }
            offset += written
        }
    }

    private static func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
            return Glibc.write(fd, buffer, count)
        #elseif canImport(Musl)
            return Musl.write(fd, buffer, count)
        #else
            return Darwin.write(fd, buffer, count)
        #endif
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}
