import Foundation
import Testing

/// The shell completions scripts/install puts in place come from the argument parser of each program.
@Suite struct CompletionTests {
    @Test(arguments: [
        ("paraphe", ["wizard", "activate", "recover", "profile", "authority", "demo"]),
        ("paraphe-authority", ["serve", "migrate", "approve", "revoke", "crl", "--database"]),
    ])
    func bashCompletionIsValidAndKnowsEveryCommand(program: String, words: [String]) throws {
        let script = try run(try parapheExecutable(name: program), ["--generate-completion-script", "bash"])
        #expect(script.status == 0)
        for word in words { #expect(script.stdout.contains(word), "\(program)'s completion lacks \(word)") }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("completion-\(UUID().uuidString).bash")
        defer { try? FileManager.default.removeItem(at: file) }
        try script.stdout.write(to: file, atomically: true, encoding: .utf8)
        #expect(try run(URL(fileURLWithPath: "/bin/bash"), ["-n", file.path]).status == 0, "bash parses it")
        let zsh = try run(try parapheExecutable(name: program), ["--generate-completion-script", "zsh"])
        #expect(zsh.status == 0 && zsh.stdout.hasPrefix("#compdef \(program)"))
    }
}
