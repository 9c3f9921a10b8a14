import Foundation
import ParapheShared

#if canImport(Glibc)
    import Glibc
#endif

/// Runs another program to its end and collects what it wrote: the one way the workstation starts a child (the
/// provider's self-test, NSS's tools).
///
/// `posix_spawn` directly: the child starts with default signal handling and an empty signal mask (the wizard
/// ignores SIGTSTP and SIGQUIT, which an exec would otherwise keep), sees only its three standard descriptors (every
/// other one is marked close-on-exec first), and its input is in the pipe before it starts, so it can never be
/// refused half-way. Foundation's `Process` closes descriptors by range, which fails under valgrind and so kept
/// `scripts/symbol-order` from profiling the wizard's step 3.
enum ChildProcess {
    /// How the child ended and what it wrote.
    struct Outcome {
        /// The exit status, or 128 + the signal that ended it.
        var status: Int32
        /// Its standard output (and standard error when merged), at most `outputLimit` bytes.
        var output: [UInt8]
    }

    /// Where the child's standard error goes.
    enum ErrorOutput {
        case discard
        case mergeWithOutput
    }

    /// The most output kept; the rest is read and dropped.
    static let outputLimit = 1 << 20

    /// Runs `executable` with `arguments` (and `environment`, else this program's) and waits for it.
    ///
    /// Throws the `errno` when it cannot start.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: [UInt8] = [], errors: ErrorOutput = .discard
    ) throws(POSIXError) -> Outcome {
        guard input.count < 16 * 1024 else { throw POSIXError(.E2BIG) }  // well within a pipe's buffer
        guard let inputEnds = FileSystem.pipe(nonBlocking: false) else { throw Self.errno() }
        var inputPipe = [inputEnds.reader, inputEnds.writer]
        defer { for descriptor in inputPipe where descriptor >= 0 { close(descriptor) } }
        guard let outputEnds = FileSystem.pipe(nonBlocking: false) else { throw Self.errno() }
        var outputPipe = [outputEnds.reader, outputEnds.writer]
        defer { for descriptor in outputPipe where descriptor >= 0 { close(descriptor) } }
        if !input.isEmpty {
            guard input.withUnsafeBytes({ write(inputPipe[1], $0.baseAddress, $0.count) }) == input.count else { throw Self.errno() }
        }
        close(inputPipe[1])
        inputPipe[1] = -1

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inputPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        switch errors {
        case .discard: posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        case .mergeWithOutput: posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 2)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) }
        defer { for argument in argv { free(argument) } }
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") }
        defer { for variable in variables { free(variable) } }
        closeOthersOnExec()
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv + [nil], variables + [nil])
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        close(outputPipe[1])
        outputPipe[1] = -1

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(outputPipe[0], $0.baseAddress, $0.count) }
            if count < 0, Glibc.errno == EINTR { continue }
            guard count > 0 else { break }
            output += chunk[..<min(count, max(0, outputLimit - output.count))]
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, Glibc.errno == EINTR {}
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as functions.
        let signal = status & 0x7F
        return Outcome(status: signal == 0 ? (status >> 8) & 0xFF : 128 + signal, output: output)
    }

    /// Marks every descriptor above the standard three close-on-exec, so a child gets only its own three.
    ///
    /// What this process inherited or opened without the flag (curses' copy of the terminal) stays here.
    private static func closeOthersOnExec() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for descriptor in names.compactMap({ Int32($0) }) where descriptor > 2 {
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0, flags & FD_CLOEXEC == 0 { _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    private static func errno() -> POSIXError { POSIXError(POSIXErrorCode(rawValue: Glibc.errno) ?? .EIO) }
}
