import CNcursesw
import Glibc
import ScreenModel
import Synchronization

/// What reading the keyboard produced.
public enum TerminalInput: Equatable, Sendable {
    case key(Key)
    /// The terminal changed size.
    case resize(width: Int, height: Int)
    /// Nothing arrived before the timeout (lets the loop check timers and signals).
    case timeout
    /// Standard input is closed.
    case endOfInput
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

/// Turns SIGTERM, SIGHUP and SIGINT into a flag the program checks (the handler only stores the number).
/// With `interruptReads`, a blocking `read` returns EINTR when one arrives (no SA_RESTART).
func installTerminationHandlers(interruptReads: Bool) {
    for sig in [SIGTERM, SIGHUP, SIGINT] {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in pendingSignal.store(number, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = interruptReads ? 0 : SA_RESTART
        sigaction(sig, &action, nil)
    }
}

/// The thin ncurses adapter: the only code that touches curses.
public final class TerminalSession {
    private let screen: OpaquePointer
    private let window: UnsafeMutablePointer<WINDOW>
    private let options: TerminalOptions
    private var lastDrawn: Screen?
    private var input: UnsafeMutablePointer<FILE>?
    private var output: UnsafeMutablePointer<FILE>?

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

    private init(screen: OpaquePointer, window: UnsafeMutablePointer<WINDOW>, options: TerminalOptions, input: UnsafeMutablePointer<FILE>, output: UnsafeMutablePointer<FILE>) {
        self.screen = screen
        self.options = options
        self.input = input
        self.output = output
        self.window = window
        raw()
        noecho()
        nonl()
        keypad(window, true)
        set_escdelay(options.escapeDelay)
        if !options.monochrome, has_colors() {
            start_color()
            use_default_colors()
            let colors: [(Color, Int16)] = [(.red, Int16(COLOR_RED)), (.green, Int16(COLOR_GREEN)), (.yellow, Int16(COLOR_YELLOW)),
                                            (.blue, Int16(COLOR_BLUE)), (.magenta, Int16(COLOR_MAGENTA)), (.cyan, Int16(COLOR_CYAN))]
            for (color, curses) in colors { init_pair(Int16(color.rawValue), curses, -1) }
        }
    }

    private func end() {
        endwin()
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

    /// A signal asking the program to end arrived (SIGTERM, SIGHUP or SIGINT from another process).
    public static var terminationRequested: Int32? {
        let value = pendingSignal.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }

    /// Forgets a pending SIGINT (kiosk mode ignores it).
    public static func clearInterrupt() {
        _ = pendingSignal.compareExchange(expected: SIGINT, desired: 0, ordering: .relaxed)
    }

    private static func installSignalHandlers() {
        installTerminationHandlers(interruptReads: false)
        // Ctrl-Z and Ctrl-\ arrive as keys in raw mode; a SIGTSTP/SIGQUIT from outside is ignored too.
        signal(SIGTSTP, SIG_IGN)
        signal(SIGQUIT, SIG_IGN)
    }

    /// Draws a screen, leaving the cursor in the focused field. Unchanged screens are not redrawn;
    /// curses itself sends only the cells that changed.
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

    /// True when the terminal is gone (its other end closed: a hang-up), which curses reports as
    /// an endless timeout rather than an end of input.
    private func terminalHungUp() -> Bool {
        guard let input else { return true }
        var descriptor = pollfd(fd: fileno(input), events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return false }
        return descriptor.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
    }

    /// Forces a full repaint on the next draw (Ctrl-L).
    public func invalidate() { lastDrawn = nil }

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

    /// Waits up to `timeoutMilliseconds` for a key. Escape sequences that arrive in one burst
    /// (pasted or injected text) are dropped whole; a lone Esc is the Esc key.
    public func readKey(timeoutMilliseconds: Int32) -> TerminalInput {
        wtimeout(window, timeoutMilliseconds)
        var character: wint_t = 0
        let result = wget_wch(window, &character)
        if result == paraphe_err() {
            if feof(input) != 0 || terminalHungUp() { return .endOfInput }
            return .timeout
        }
        if result == paraphe_key_code_yes() {
            return translate(keyCode: Int32(character))
        }
        return translate(character: UInt32(character))
    }

    private func translate(keyCode: Int32) -> TerminalInput {
        switch keyCode {
        case KEY_RESIZE:
            let (w, h) = size
            return .resize(width: w, height: h)
        case KEY_UP: return .key(.up)
        case KEY_DOWN: return .key(.down)
        case KEY_LEFT: return .key(.left)
        case KEY_RIGHT: return .key(.right)
        case KEY_HOME: return .key(.home)
        case KEY_END: return .key(.end)
        case KEY_BACKSPACE: return .key(.backspace)
        case KEY_DC: return .key(.delete)
        case KEY_BTAB: return .key(.backTab)
        case KEY_ENTER: return .key(.enter)
        default:
            for n in 1...12 where keyCode == paraphe_key_f(Int32(n)) { return .key(.function(n)) }
            return .timeout
        }
    }

    private func translate(character value: UInt32) -> TerminalInput {
        switch value {
        case 0x0D, 0x0A: return .key(.enter)
        case 0x09: return .key(.tab)
        case 0x7F, 0x08: return .key(.backspace)
        case 0x1B: return escapeOrSequence()
        case 0x01...0x1A:
            guard let scalar = Unicode.Scalar(value + 0x60) else { return .timeout }
            return .key(.control(Character(scalar)))
        case 0x1C...0x1F:  // Ctrl-\, Ctrl-], Ctrl-^, Ctrl-_: keys (they do nothing, but they are a key press)
            guard let scalar = Unicode.Scalar(value + 0x40) else { return .timeout }
            return .key(.control(Character(scalar)))
        case 0x00...0x1F, 0x80...0x9F:
            return .timeout  // other controls are data, never keys, and never echoed
        default:
            guard let scalar = Unicode.Scalar(value) else { return .timeout }
            return .key(.character(Character(scalar)))
        }
    }

    /// After an Esc: if more bytes are already waiting, they are an escape sequence curses did not
    /// know (pasted or injected text) — consume and drop it; otherwise it was the Esc key.
    private func escapeOrSequence() -> TerminalInput {
        wtimeout(window, 0)
        var next: wint_t = 0
        guard wget_wch(window, &next) != paraphe_err() else { return .key(.escape) }
        let introducer = UInt32(next)
        if introducer == 0x5B {  // CSI: up to a final byte 0x40–0x7E
            while wget_wch(window, &next) != paraphe_err() {
                if (0x40...0x7E).contains(UInt32(next)) { break }
            }
        } else if introducer == 0x5D || introducer == 0x50 || introducer == 0x5F || introducer == 0x5E {  // OSC, DCS, APC, PM
            while wget_wch(window, &next) != paraphe_err() {
                if next == 0x07 || next == 0x9C { break }
                if next == 0x1B {
                    _ = wget_wch(window, &next)
                    break
                }
            }
        }
        return .timeout
    }
}

/// Why a full-screen session could not start.
public enum TerminalError: Error, Equatable {
    case notATerminal
    case cannotStart
}
