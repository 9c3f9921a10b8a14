import Foundation
import Testing

/// What a new user met in the full-screen wizard (issue 10), in a real terminal: tmux at 80×24 with
/// `TERM=xterm-256color`, as the defects were found.
@Suite(.serialized) struct NewUserTmuxTests {
    func start(_ scratch: Scratch, _ arguments: String = "") throws -> TmuxSession {
        let tmux = try TmuxSession(try wizardShellLine(scratch, arguments, environment: ["TERM": "xterm-256color"]))
        try tmux.waitFor("Step 1 of 5 — Approval email")
        return tmux
    }

    /// 10.1: a stray write to the terminal (a broadcast message) is wiped by Ctrl-L, and the next
    /// key lands in the field, not at the stray cursor.
    @Test func ctrlLRepaintsEverythingAfterAStrayWrite() throws {
        let scratch = try Scratch()
        let tmux = try start(scratch)
        let tty = try tmux.paneTTY()
        let handle = try #require(FileHandle(forWritingAtPath: tty))
        handle.write(Data("\u{1B}[2J\u{1B}[1;1Hgarbage".utf8))
        try handle.close()
        try tmux.waitFor("the stray write") { $0.contains("garbage") && !$0.contains("Step 1 of 5") }
        try tmux.keys("C-l")
        // The whole screen comes back (tmux may show a repaint half-way on a loaded machine: wait for all of it).
        _ = try tmux.waitFor("the repainted screen") {
            $0.contains("Step 1 of 5 — Approval email") && $0.contains("Activation link") && $0.contains("F10 Quit") && !$0.contains("garbage")
        }
        try tmux.type("7K2M")
        let typed = try tmux.waitFor("[ 7K2M")
        #expect(!typed.contains("garbage"))
    }

    /// 10.2: a byte that is not UTF-8 is dropped alone, and the message line says so.
    @Test func invalidUTF8DropsOnlyTheBadByteAndSaysSo() throws {
        let scratch = try Scratch()
        let tmux = try start(scratch)
        try tmux.bytes([0x41, 0xFF, 0x42, 0x43, 0x44])
        let screen = try tmux.waitFor("[ ABCD")
        #expect(screen.contains("not valid text"), "\(screen)")
    }

    /// 10.3: a link pasted over two lines is one link (the paste's line break is not Enter), and a
    /// line break pasted in an answer is a blank; the wizard asked for bracketed paste and restores it.
    @Test func pastedLineBreaksAreNeverEnter() throws {
        let scratch = try Scratch()
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let tmux = try start(scratch)
        let cut = link.index(link.endIndex, offsetBy: -9)
        try tmux.paste(String(link[..<cut]) + "\n" + String(link[cut...]))
        let pasted = try tmux.waitFor("the pasted link") { $0.contains(String(link.suffix(9))) }
        #expect(pasted.contains("Step 1 of 5") && !pasted.contains("not an activation link"), "nothing was submitted: \(pasted)")
        try tmux.keys("Enter")
        try tmux.waitFor("Step 2 of 5 — Security questions")
        try tmux.paste("Mont\nréal")
        let answer = try tmux.waitFor("[ Mont réal")
        #expect(answer.contains("Step 2 of 5"), "the paste did not submit the answers")
        try tmux.keys("F10")
        let after = try tmux.waitFor("STTY-DONE")
        #expect(after.contains("EXIT:0"))
        // Back at the shell, a paste is plain text again: tmux adds no markers (the terminal echoes
        // them as ^[[200~ if bracketed paste were left on).
        try tmux.paste("PASTED-AFTER")
        let shell = try tmux.waitFor("PASTED-AFTER")
        #expect(!shell.contains("200~"), "\(shell)")
    }

    /// 10.9: Home and End as xterm-like terminals send them, in both cursor-key modes.
    @Test func homeAndEndInEveryFormMoveTheCursor() throws {
        let scratch = try Scratch()
        let tmux = try start(scratch)
        try tmux.type("ABC")
        try tmux.bytes(Array("\u{1B}[1~".utf8))
        try tmux.type("x")
        try tmux.bytes(Array("\u{1B}OF".utf8))
        try tmux.type("y")
        try tmux.bytes(Array("\u{1B}OH".utf8))
        try tmux.type("1")
        try tmux.bytes(Array("\u{1B}[4~".utf8))
        try tmux.type("2")
        try tmux.waitFor("[ 1xABCy2")
    }
}
