import Foundation
import ParapheFuzzEntries
import Testing

/// Every corpus under `fuzz/corpus/` (seeds from real inputs, and every input a fuzzer ever crashed on) replayed
/// through its parser, uninstrumented: none may crash.
///
/// `scripts/fuzz` runs the instrumented fuzzers on them.
@Suite("Fuzz corpora")
struct CorpusReplayTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz/corpus")

    @Test(arguments: FuzzEntries.targets.map(\.name))
    func everyInputOfTheCorpusIsRefusedOrAcceptedWithoutACrash(_ name: String) throws {
        let directory = Self.root.appendingPathComponent(name)
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil).filter { !$0.hasDirectoryPath }
        #expect(files.count >= 3, "fuzz/corpus/\(name) holds seeds")
        let run = try #require(FuzzEntries.target(name))
        for file in files {
            run(Array(try Data(contentsOf: file)))
        }
    }
}
