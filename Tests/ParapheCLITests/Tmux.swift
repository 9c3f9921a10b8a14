import Foundation
import Testing

/// A real terminal: a tmux server on a private socket running one command in an 80×24 pane.
final class TmuxSession {
    let socket: String
    let tmux = URL(fileURLWithPath: "/usr/bin/tmux")

    /// Starts `command` (a shell command line) in a detached session of `width` × `height`.
    init(_ command: String, width: Int = 80, height: Int = 24) throws {
        socket = "paraphe-test-\(UUID().uuidString.prefix(8))"
        // The server daemonizes and keeps every descriptor it was started with (Foundation's Process
        // then never sees the client end): spawn the client directly and reap it ourselves.
        let status = spawnAndWait(
            tmux.path, ["-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", String(width), "-y", String(height), command])
        guard status == 0 else { throw HarnessError.missing("tmux could not start") }
    }

    deinit {
        // End what runs in the pane (its shell's whole process group), then the server: kill-server
        // alone leaves a server waiting on pane processes that ignore SIGHUP.
        if let panePID = try? run(tmux, ["-L", socket, "list-panes", "-F", "#{pane_pid}"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines), let pid = Int32(panePID), pid > 1
        {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
        _ = spawnAndWait(tmux.path, ["-L", socket, "kill-server"])
    }

    /// The visible text of the pane.
    func capture() throws -> String {
        try run(tmux, ["-L", socket, "capture-pane", "-p"]).stdout
    }

    /// Polls the pane until `predicate` holds (no fixed sleeps); returns the screen.
    @discardableResult
    func waitFor(_ what: String, timeout: TimeInterval = 30, _ predicate: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = ""
        while Date() < deadline {
            screen = try capture()
            if predicate(screen) { return screen }
            usleep(50_000)
        }
        Issue.record("timed out waiting for \(what); the screen was:\n\(screen)")
        throw HarnessError.missing(what)
    }

    /// Waits for `text` to appear on the screen.
    @discardableResult
    func waitFor(_ text: String, timeout: TimeInterval = 30) throws -> String {
        try waitFor("\"\(text)\"", timeout: timeout) { $0.contains(text) }
    }

    /// Sends tmux key names (`Enter`, `Tab`, `BTab`, `Escape`, `F2`, `C-l`…).
    func keys(_ names: String...) throws {
        _ = try run(tmux, ["-L", socket, "send-keys"] + names)
    }

    /// Types text literally.
    func type(_ text: String) throws {
        _ = try run(tmux, ["-L", socket, "send-keys", "-l", text])
    }

    /// Sends raw bytes, as a terminal would (`send-keys -H`): escape sequences, bytes that are not UTF-8.
    func bytes(_ values: [UInt8]) throws {
        _ = try run(tmux, ["-L", socket, "send-keys", "-H"] + values.map { String(format: "%02x", $0) })
    }

    /// Pastes `text` as a terminal does (`paste-buffer -p`: inside bracketed-paste markers when the
    /// program asked for them, as is otherwise).
    func paste(_ text: String) throws {
        _ = try run(tmux, ["-L", socket, "set-buffer", "--", text])
        _ = try run(tmux, ["-L", socket, "paste-buffer", "-p"])
    }

    /// The pane's terminal device (to write to it as `wall` or a stray process would).
    func paneTTY() throws -> String {
        try run(tmux, ["-L", socket, "display-message", "-p", "#{pane_tty}"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func resize(width: Int, height: Int) throws {
        _ = try run(tmux, ["-L", socket, "resize-window", "-x", String(width), "-y", String(height)])
    }

    /// The pid of the process running in the pane's shell (the pane's child called `name`).
    func childPID(named name: String) throws -> Int32? {
        let panePID = try run(tmux, ["-L", socket, "list-panes", "-F", "#{pane_pid}"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let children = try run(URL(fileURLWithPath: "/usr/bin/pgrep"), ["-P", panePID, name]).stdout
        return children.split(separator: "\n").first.flatMap { Int32($0) }
    }
}

/// A shell line that runs `paraphe wizard ARGUMENTS` in the scratch directory, then reports its exit
/// status and the terminal mode (`EXIT:n`, then `icanon echo` or their negations, then `STTY-DONE`).
func wizardShellLine(_ scratch: Scratch, _ arguments: String, environment: [String: String] = [:]) throws -> String {
    let binary = try parapheExecutable().path
    // A home of the scratch's own: the log-in screen's "make it available to the applications" registers there,
    // never in the home of whoever runs the tests.
    var environment = environment
    if environment["HOME"] == nil { environment["HOME"] = scratch.url.appendingPathComponent("home").path }
    environment["XDG_CONFIG_HOME"] = environment["XDG_CONFIG_HOME"] ?? ""
    let extra = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\(shellQuote($0.value)) " }.joined()
    return
        "cd \(shellQuote(scratch.url.path)) && env LANG=C.UTF-8 \(extra)\(shellQuote(binary)) wizard \(scratch.workstation.map(shellQuote).joined(separator: " ")) \(arguments); "
        + "echo \"EXIT:$?\"; stty -a | tr ' ' '\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo STTY-DONE; sleep 600"
}

/// Shell-quotes a word.
func shellQuote(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// Runs a program with stdin/stdout/stderr on /dev/null and waits for it with waitpid.
func spawnAndWait(_ path: String, _ arguments: [String]) -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd in Int32(0)...2 {
        posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
    }
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1, errno == EINTR {}
    return (status >> 8) & 0xFF
}
