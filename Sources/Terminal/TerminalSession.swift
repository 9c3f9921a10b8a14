import CNcursesw
import Glibc
import ParapheShared
import ScreenModel
import Synchronization

/// What reading the keyboard produced.
public enum TerminalInput: Equatable, Sendable {
    case key(Key)
    /// The terminal changed size.
    case resize(width: Int, height: Int)
    /// Nothing arrived before the timeout (lets the loop check timers and signals).
    case timeout
    /// Bytes arrived that are no key (an unknown sequence, a control character): dropped.
    case ignored
    /// A bracketed paste: its text, line breaks included (they are never Enter).
    case paste(String)
    /// Bytes that are not UTF-8 were dropped.
    case invalidText
    /// The descriptor the loop also watches became readable (an effect posted its result).
    case wake
    /// Standard input is closed.
    case endOfInput
    /// A signal asks the program to end (SIGTERM, SIGHUP, or SIGINT from another process): its number.
    case signal(Int32)
}

/// How the terminal is set up.
public struct TerminalOptions: Sendable {
    /// Monochrome (`NO_COLOR`): colors become bold/underline.
    public var monochrome: Bool
    /// Milliseconds curses waits after Esc for the rest of a sequence.
    public var escapeDelay: Int32 = 25

    public init(monochrome: Bool) { self.monochrome = monochrome }
}

/// Signals that ask the program to end (SIGTERM, SIGHUP, and SIGINT from outside), set by the handler.
let pendingSignal = Atomic<Int32>(0)
/// The write end of the pipe the signal handler pokes, so a loop waiting in `poll` wakes at once.
let signalWakeWriter = Atomic<Int32>(-1)
/// Its read end, which the loops watch.
let signalWakeReader = Atomic<Int32>(-1)

/// Turns SIGTERM, SIGHUP and SIGINT into a flag the program checks and a byte on a pipe its loop
/// waits on (the handler only stores the number and writes one byte: both async-signal-safe).
///
/// With `interruptReads`, a blocking `read` returns EINTR when one arrives (no SA_RESTART).
func installTerminationHandlers(interruptReads: Bool) {
    if signalWakeReader.load(ordering: .relaxed) < 0 {
        if let ends = FileSystem.pipe(nonBlocking: true) {
            signalWakeReader.store(ends.reader, ordering: .relaxed)
            signalWakeWriter.store(ends.writer, ordering: .relaxed)
        }
    }
    for sig in [SIGTERM, SIGHUP, SIGINT] {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            pendingSignal.store(number, ordering: .relaxed)
            let descriptor = signalWakeWriter.load(ordering: .relaxed)
            if descriptor >= 0 {
                var byte: UInt8 = 1
                _ = write(descriptor, &byte, 1)
            }
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = interruptReads ? 0 : SA_RESTART
        sigaction(sig, &action, nil)
    }
}

/// The signal that asked the program to end since the last call, if one did (each is reported once).
func takeSignal() -> Int32? {
    let signal = pendingSignal.exchange(0, ordering: .relaxed)
    return signal == 0 ? nil : signal
}

/// Empties the signal pipe (its bytes only say "look at `pendingSignal`").
func drainSignalWake() {
    let descriptor = signalWakeReader.load(ordering: .relaxed)
    guard descriptor >= 0 else { return }
    var bytes = [UInt8](repeating: 0, count: 64)
    while bytes.withUnsafeMutableBytes({ read(descriptor, $0.baseAddress, $0.count) }) > 0 {}
}

/// Waits until one of `descriptors` is readable, a signal arrives, or `timeoutMilliseconds` pass
/// (-1: no limit).
///
/// Returns the `revents` of each descriptor (all 0 after a signal or the timeout).
func waitForInput(_ descriptors: [Int32], timeoutMilliseconds: Int32) -> [Int16] {
    var watched = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    watched.append(pollfd(fd: signalWakeReader.load(ordering: .relaxed), events: Int16(POLLIN), revents: 0))
    let ready = poll(&watched, nfds_t(watched.count), timeoutMilliseconds)
    if ready > 0, let last = watched.last, last.revents != 0 { drainSignalWake() }
    guard ready > 0 else { return descriptors.map { _ in 0 } }
    return watched.dropLast().map(\.revents)
}

/// The thin ncurses adapter: the only code that touches curses.
public final class TerminalSession {
    private let screen: OpaquePointer
    private let window: UnsafeMutablePointer<WINDOW>
    private let options: TerminalOptions
    private var lastDrawn: Screen?
    private var input: UnsafeMutablePointer<FILE>?
    private var output: UnsafeMutablePointer<FILE>?
    /// Paraphe reads the keyboard itself (curses only draws), so that bytes that are not UTF-8,
    /// bracketed pastes and every Home/End variant are handled the same on every terminal.
    private var decoder = InputDecoder()
    private var decoded: [TerminalInput] = []
    /// The keyboard is gone (end of file, hang-up): reported once, then only `wake` is watched.
    private var inputEnded = false

    /// True when both standard input and output are terminals (else use plain mode).
    public static var isInteractive: Bool { isatty(0) == 1 && isatty(1) == 1 }

    /// Starts curses, runs `body`, and always restores the terminal afterwards — on return,
    /// on a thrown error, and when the body ends because of SIGTERM/SIGHUP.
    public static func withSession<T>(_ options: TerminalOptions, _ body: (TerminalSession) throws -> T) throws -> T {
        setlocale(LC_ALL, "")
        guard isInteractive else { throw TerminalError.notATerminal }
        guard let output = fdopen(dup(1), "w"), let input = fdopen(dup(0), "r") else { throw TerminalError.notATerminal }
        guard let screen = newterm(nil, output, input) else {
            fclose(output)
            fclose(input)
            throw TerminalError.cannotStart
        }
        set_term(screen)
        guard let window = paraphe_stdscr() else {
            endwin()
            delscreen(screen)
            throw TerminalError.cannotStart
        }
        let session = TerminalSession(screen: screen, window: window, options: options, input: input, output: output)
        defer { session.end() }
        installSignalHandlers()
        return try body(session)
    }

    private init(
        screen: OpaquePointer, window: UnsafeMutablePointer<WINDOW>, options: TerminalOptions, input: UnsafeMutablePointer<FILE>,
        output: UnsafeMutablePointer<FILE>
    ) {
        self.screen = screen
        self.options = options
        self.input = input
        self.output = output
        self.window = window
        raw()
        noecho()
        nonl()
        // Bracketed paste: pasted text arrives between markers, so its line breaks are not Enter.
        fputs("\u{1B}[?2004h", output)
        fflush(output)
        if !options.monochrome, has_colors() {
            start_color()
            use_default_colors()
            let colors: [(Color, Int16)] = [
                (.red, Int16(COLOR_RED)), (.green, Int16(COLOR_GREEN)), (.yellow, Int16(COLOR_YELLOW)),
                (.blue, Int16(COLOR_BLUE)), (.magenta, Int16(COLOR_MAGENTA)), (.cyan, Int16(COLOR_CYAN)),
            ]
            for (color, curses) in colors { init_pair(Int16(color.rawValue), curses, -1) }
        }
    }

    private func end() {
        endwin()
        if let output {
            fputs("\u{1B}[?2004l", output)
            fflush(output)
        }
        delscreen(screen)
        if let output { fclose(output) }
        if let input { fclose(input) }
        output = nil
        input = nil
    }

    /// The terminal's size now.
    public var size: (width: Int, height: Int) {
        (Int(getmaxx(window)), Int(getmaxy(window)))
    }

    private static func installSignalHandlers() {
        installTerminationHandlers(interruptReads: false)
        // A resize pokes the loop's pipe too (the signal may land on any thread, not the one in
        // `poll`); the loop then asks the terminal its size and tells curses (`resizeterm`).
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            let descriptor = signalWakeWriter.load(ordering: .relaxed)
            if descriptor >= 0 {
                var byte: UInt8 = 2
                _ = write(descriptor, &byte, 1)
            }
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGWINCH, &action, nil)
        // Ctrl-Z and Ctrl-\ arrive as keys in raw mode; a SIGTSTP/SIGQUIT from outside is ignored too.
        signal(SIGTSTP, SIG_IGN)
        signal(SIGQUIT, SIG_IGN)
    }

    /// Draws a screen, leaving the cursor in the focused field.
    ///
    /// Unchanged screens are not redrawn; curses itself sends only the cells that changed.
    public func draw(_ next: Screen, force: Bool = false) {
        if force {
            clearok(window, true)
        } else if next == lastDrawn {
            return
        }
        if lastDrawn?.width != next.width || lastDrawn?.height != next.height { werase(window) }
        for row in 0..<next.height {
            for column in 0..<next.width {
                let cell = next[row, column]
                if cell.isContinuation { continue }
                if let previous = lastDrawn, !force, previous.width == next.width, previous.height == next.height,
                    previous[row, column] == cell
                {
                    continue
                }
                var text: [wchar_t] = cell.character.unicodeScalars.map { wchar_t(bitPattern: $0.value) } + [0]
                let (attributes, pair) = attributesAndPair(cell.style)
                _ = paraphe_put_cell(window, Int32(row), Int32(column), &text, attributes, pair)
            }
        }
        if let cursor = next.cursor {
            curs_set(1)
            wmove(window, Int32(cursor.row), Int32(cursor.column))
        } else {
            curs_set(0)
        }
        wnoutrefresh(window)
        doupdate()
        lastDrawn = next
    }

    private func attributesAndPair(_ style: Style) -> (attr_t, Int16) {
        var attributes = paraphe_a_normal()
        if style.bold { attributes |= paraphe_a_bold() }
        if style.reverse { attributes |= paraphe_a_reverse() }
        if style.underline { attributes |= paraphe_a_underline() }
        if style.dim { attributes |= paraphe_a_dim() }
        guard let color = style.color else { return (attributes, 0) }
        if options.monochrome || !has_colors() {
            // Still readable without color: emphasized text is bold.
            attributes |= paraphe_a_bold()
            return (attributes, 0)
        }
        return (attributes, Int16(color.rawValue))
    }

    /// Waits for a key, for `wake` to become readable (an effect posted its result), for a signal,
    /// or up to `timeoutMilliseconds` (-1: no limit), whichever comes first.
    ///
    /// A lone Esc is the Esc key once `escapeDelay` passes with nothing after it.
    public func nextInput(wake: Int32, timeoutMilliseconds: Int32) -> TerminalInput {
        if !decoded.isEmpty { return decoded.removeFirst() }
        if let signal = takeSignal() { return .signal(signal) }
        guard let input, !inputEnded else { return waitWithoutInput(wake: wake, timeoutMilliseconds: timeoutMilliseconds) }
        let waitingForSequence = decoder.needsFlush
        let timeout =
            waitingForSequence
            ? (timeoutMilliseconds < 0 ? options.escapeDelay : min(timeoutMilliseconds, options.escapeDelay)) : timeoutMilliseconds
        let revents = waitForInput([fileno(input), wake], timeoutMilliseconds: timeout)
        if revents[0] != 0 {
            var bytes = [UInt8](repeating: 0, count: 4_096)
            let count = bytes.withUnsafeMutableBytes { read(fileno(input), $0.baseAddress, $0.count) }
            if count > 0 {
                decoded += decoder.feed(bytes[0..<count]).map(Self.terminalInput)
                if !decoded.isEmpty { return decoded.removeFirst() }
                return .ignored
            }
            if count == 0 || revents[0] & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                inputEnded = true
                return .endOfInput
            }
        }
        if revents[1] != 0 { return .wake }
        if let signal = takeSignal() { return .signal(signal) }
        // A signal or the timeout. After SIGWINCH the terminal has another size: tell curses.
        if let resized = resizeIfNeeded() { return resized }
        if waitingForSequence, revents[0] == 0 {
            decoded += decoder.flush().map(Self.terminalInput)
            if !decoded.isEmpty { return decoded.removeFirst() }
        }
        return .timeout
    }

    /// After the end of input: waits for `wake`, a signal or the timeout (a closed keyboard is always readable).
    private func waitWithoutInput(wake: Int32, timeoutMilliseconds: Int32) -> TerminalInput {
        let woken = waitForInput([wake], timeoutMilliseconds: timeoutMilliseconds)[0] != 0
        if let signal = takeSignal() { return .signal(signal) }
        return woken ? .wake : .timeout
    }

    private static func terminalInput(_ input: DecodedInput) -> TerminalInput {
        switch input {
        case .key(let key): .key(key)
        case .paste(let text): .paste(text)
        case .invalidText: .invalidText
        case .ignored: .ignored
        }
    }

    /// If the terminal's size differs from what curses believes, resizes curses and reports it.
    private func resizeIfNeeded() -> TerminalInput? {
        guard let output else { return nil }
        var size = winsize()
        guard ioctl(fileno(output), UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0, size.ws_col > 0 else { return nil }
        let (width, height) = self.size
        guard Int(size.ws_col) != width || Int(size.ws_row) != height else { return nil }
        resizeterm(Int32(size.ws_row), Int32(size.ws_col))
        lastDrawn = nil
        let (newWidth, newHeight) = self.size
        return .resize(width: newWidth, height: newHeight)
    }
}

/// Why a full-screen session could not start.
public enum TerminalError: Error, Equatable {
    case notATerminal
    case cannotStart
}
