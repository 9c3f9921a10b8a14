import Foundation
import ParapheTestSupport
import Testing

/// Every command in the README and `docs/` runs as written: each fenced `sh` block, in a scratch directory of its
/// own, with the built `paraphe` first on the PATH and a home of its own.
///
/// A block that cannot run here says so in its info string, `sh norun: REASON` (a real host name, an interactive
/// wizard, the whole suite); those are few, and listed in this test's output.
@Suite("The docs' commands")
struct DocsCommandsTests {
    /// One fenced `sh` block.
    struct Block: Sendable, CustomTestStringConvertible {
        var file: String
        var line: Int
        var script: String
        /// Why it cannot run here, for a block marked `norun`.
        var notRunnable: String?

        var testDescription: String { "\(file):\(line)" }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `sh` blocks of README.md and docs/*.md, in order.
    static let blocks: [Block] = {
        let docs = root.appendingPathComponent("docs")
        let pages = ((try? FileManager.default.contentsOfDirectory(atPath: docs.path)) ?? []).filter { $0.hasSuffix(".md") }.sorted()
        var blocks: [Block] = []
        let paths = ["README.md"] + pages.map { "docs/" + $0 }
        for page in paths {
            guard let text = try? String(contentsOf: root.appendingPathComponent(page), encoding: .utf8) else { continue }
            var current: Block?
            for (index, line) in text.components(separatedBy: "\n").enumerated() {
                if var block = current {
                    if line.hasPrefix("```") {
                        blocks.append(block)
                        current = nil
                    } else {
                        block.script += line + "\n"
                        current = block
                    }
                } else if line == "```sh" {
                    current = Block(file: page, line: index + 1, script: "")
                } else if line.hasPrefix("```sh norun") {
                    let reason = line.drop(while: { $0 != ":" }).dropFirst().trimmingCharacters(in: .whitespaces)
                    current = Block(file: page, line: index + 1, script: "", notRunnable: reason)
                }
            }
        }
        return blocks
    }()

    @Test func theDocsHaveBlocksAndFewAreNotRunnableEachWithItsReason() {
        let marked = Self.blocks.filter { $0.notRunnable != nil }
        #expect(Self.blocks.count - marked.count >= 3, "runnable blocks in the docs")
        #expect(marked.count <= 8, "blocks marked norun: \(marked.map(\.testDescription))")
        for block in marked {
            #expect(!(block.notRunnable ?? "").isEmpty, "\(block.testDescription) is marked norun without a reason")
            print("not run: \(block.testDescription) — \(block.notRunnable ?? "")")
        }
    }

    @Test(arguments: blocks.filter { $0.notRunnable == nil })
    func runsAsWritten(_ block: Block) throws {
        let scratch = try Scratch()
        let bin = scratch.url.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        // `paraphe` as a person has it: the shipped program (the security provider beside it), else the testable one.
        let program = try (try? parapheExecutable(name: "paraphe")) ?? parapheExecutable()
        try FileManager.default.createSymbolicLink(at: bin.appendingPathComponent("paraphe"), withDestinationURL: program)
        let script = scratch.url.appendingPathComponent("block.sh")
        try block.script.write(to: script, atomically: true, encoding: .utf8)
        var environment = childEnvironment(["HOME": scratch.url.appendingPathComponent("home").path])
        environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        let result = try runProgram(
            URL(fileURLWithPath: "/bin/bash"), ["-e", "-o", "pipefail", script.path], environment: environment, directory: scratch.url)
        #expect(result.status == 0, "\(block.testDescription) exited \(result.status):\n\(result.output.suffix(2000))")
    }
}
