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

/// Crash-safe file replacement: the one way the keystore, the workstation and the authority replace a file.
public enum AtomicFile {
    /// Write to a temp file in the same directory (name starting with "." and ending ".tmp"), fsync it, chmod to `mode`, rename over `url`, fsync the directory.
    ///
    /// On any error the temp file is removed and the destination is untouched.
    public static func write(_ bytes: [UInt8], to url: URL, mode: mode_t) throws(FileFailure) {
        guard url.isFileURL else { throw FileFailure(.invalidDestination, "the destination is not a file URL") }
        let destination = url.standardizedFileURL
        let name = destination.lastPathComponent
        guard !name.isEmpty, name != "/", name != ".", name != ".." else {
            throw FileFailure(.invalidDestination, "the destination has no file name")
        }
        let directory = destination.deletingLastPathComponent()
        let suffix = Hex.lowercase(SystemRandomSource().bytes(6))
        let temporary = directory.appendingPathComponent(".\(name).\(suffix).tmp")
        let temporaryPath = temporary.path
        let destinationPath = destination.path

        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileFailure(.ioFailure, "cannot create a temporary file in \(directory.path): \(errnoText())") }

        var renamed = false
        defer {
            if !renamed { unlink(temporaryPath) }
        }
        try fillAndClose(fd, bytes, mode: mode)
        guard rename(temporaryPath, destinationPath) == 0 else {
            throw FileFailure(.ioFailure, "cannot rename the temporary file over \(destinationPath): \(errnoText())")
        }
        renamed = true

        let directoryFD = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { throw FileFailure(.ioFailure, "written, but cannot open the directory to sync it: \(errnoText())") }
        defer { close(directoryFD) }
        if fsync(directoryFD) != 0, errno != EINVAL, errno != ENOTSUP {
            throw FileFailure(.ioFailure, "written, but syncing the directory failed: \(errnoText())")
        }
    }

    private static func fillAndClose(_ fd: Int32, _ bytes: [UInt8], mode: mode_t) throws(FileFailure) {
        defer { close(fd) }
        try writeAll(fd, bytes)
        guard fsync(fd) == 0 else { throw FileFailure(.ioFailure, "fsync of the temporary file failed: \(errnoText())") }
        guard fchmod(fd, mode) == 0 else { throw FileFailure(.ioFailure, "chmod of the temporary file failed: \(errnoText())") }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(FileFailure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return systemWrite(fd, base + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw FileFailure(.ioFailure, "writing the temporary file failed: \(errnoText())")
            }
            if written == 0 { throw FileFailure(.ioFailure, "writing the temporary file made no progress") }
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

    private static func errnoText() -> String { FileSystem.errnoText() }
}

/// Why a file operation failed (an atomic write leaves the destination untouched).
public struct FileFailure: ParapheError, Equatable {
    public enum Code: String, Sendable, Equatable {
        /// The destination is not a file path.
        case invalidDestination
        /// Creating, writing, syncing or renaming failed.
        case ioFailure
        /// An exclusive creation found the file already there.
        case exists
    }

    public let code: Code
    /// What failed, with the system's reason; a path, never a secret.
    public let reason: String
    public let fileID: String
    public let line: Int

    public init(_ code: Code, _ reason: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.fileID = fileID
        self.line = line
    }

    public static func == (lhs: FileFailure, rhs: FileFailure) -> Bool { lhs.code == rhs.code }

    public var description: String { reason }

    /// The texts a keystore file error has always had.
    public var messageKey: String {
        switch code {
        case .invalidDestination: "cli.error.keystore.invalidInput"
        case .ioFailure, .exists: "cli.error.keystore.ioFailure"
        }
    }

    public var exitStatus: Int32 {
        switch code {
        case .invalidDestination: ExitStatus.dataError
        case .ioFailure, .exists: ExitStatus.software
        }
    }
}
