import Glibc

/// Why a line could not be read.
public enum LineInputError: Error, Equatable {
    /// Standard input ended (closed pipe, end of file, Ctrl-D at the start of a line).
    case endOfInput
    /// SIGINT, SIGTERM or SIGHUP arrived: the program should end with 128 + the signal.
    case interrupted(signal: Int32)
}

/// Plain mode's console: line-by-line input from standard input, text output on standard output.
///
/// No curses, no cursor addressing, no colors: what it writes is the text it is given (the caller
/// keeps control characters out), and a secret is read with the terminal's echo off.
public final class LineConsole {
    /// The longest line kept; the rest of a longer line is read and dropped (the field limits are far lower).
    public static let maximumLineBytes = 16 * 1024

    /// True when standard input is a terminal (then secrets are read with echo off).
    public let inputIsTerminal: Bool
    private var buffer: [UInt8] = []
    private var ended = false

    private init() {
        inputIsTerminal = isatty(0) == 1
    }

    /// Runs `body` with SIGINT/SIGTERM/SIGHUP turned into `LineInputError.interrupted`, so the
    /// terminal's echo is always restored before the program ends.
    public static func withConsole<T>(_ body: (LineConsole) throws -> T) rethrows -> T {
        installTerminationHandlers(interruptReads: true)
        return try body(LineConsole())
    }

    /// Writes `text` as is to standard output.
    public func write(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.write(1, raw.baseAddress.map { $0 + offset }, raw.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    /// Reads one line (without its line ending).
    ///
    /// With `secret` and a terminal on standard input, the terminal does not echo what is typed;
    /// echo comes back before this returns or throws.
    public func readLine(secret: Bool) throws(LineInputError) -> [UInt8] {
        guard secret, inputIsTerminal else { return try nextLine() }
        var saved = termios()
        guard tcgetattr(0, &saved) == 0 else { return try nextLine() }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSANOW, &quiet)
        defer {
            tcsetattr(0, TCSANOW, &saved)
            // The Enter that ended the line was not echoed either.
            write("\n")
        }
        return try nextLine()
    }

    private func nextLine() throws(LineInputError) -> [UInt8] {
        var line: [UInt8] = []
        var dropping = false
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                if !dropping { line.append(contentsOf: buffer[..<newline].prefix(Self.maximumLineBytes - line.count)) }
                buffer.removeSubrange(...newline)
                if line.last == 0x0D { line.removeLast() }
                return line
            }
            if !dropping {
                line.append(contentsOf: buffer.prefix(Self.maximumLineBytes - line.count))
                dropping = line.count >= Self.maximumLineBytes
            }
            buffer.removeAll(keepingCapacity: true)
            if ended {
                // A last line without its line ending still counts; nothing at all is the end.
                if line.isEmpty { throw .endOfInput }
                return line
            }
            try fill()
        }
    }

    /// Waits for more input or a signal (the signal handler wakes the wait at once).
    private func fill() throws(LineInputError) {
        while true {
            if let signal = takeSignal() { throw .interrupted(signal: signal) }
            let revents = waitForInput([0], timeoutMilliseconds: -1)
            if revents[0] == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 4_096)
            let count = chunk.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                ended = true
                return
            }
            if count == 0 {
                ended = true
                return
            }
            buffer.append(contentsOf: chunk[..<count])
            return
        }
    }

    /// Waits until `descriptor` is readable (an effect posted its result) or a signal asks the program to end.
    ///
    /// Returns that signal, if one did (each is reported once).
    public func wait(for descriptor: Int32) -> Int32? {
        while true {
            if let signal = takeSignal() { return signal }
            if waitForInput([descriptor], timeoutMilliseconds: -1)[0] != 0 { return nil }
        }
    }
}
