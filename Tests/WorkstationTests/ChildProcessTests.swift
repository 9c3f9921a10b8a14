import Foundation
import Testing

@testable import Workstation

/// The one way the workstation runs another program (the provider's self-test, NSS's tools).
@Suite struct ChildProcessTests {
    @Test func theChildReadsItsInputAndItsStatusAndOutputComeBack() throws {
        let child = try ChildProcess.run("/bin/sh", ["-c", "cat; echo to-stderr >&2; exit 3"], input: Array("line\n".utf8))
        #expect(child.status == 3)
        #expect(String(decoding: child.output, as: UTF8.self) == "line\n", "standard error is discarded unless merged")
        let merged = try ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2"], errors: .mergeWithOutput)
        #expect(String(decoding: merged.output, as: UTF8.self) == "out\nerr\n")
    }

    @Test func aSignalEndsItAs128PlusTheSignalAndIgnoredSignalsAreNotInherited() throws {
        let killed = try ChildProcess.run("/bin/sh", ["-c", "kill -TERM $$"])
        #expect(killed.status == 128 + SIGTERM)
        // The wizard ignores SIGQUIT; its children start with the default disposition (and so die of it).
        let previous = signal(SIGQUIT, SIG_IGN)
        defer { signal(SIGQUIT, previous) }
        let quit = try ChildProcess.run("/bin/sh", ["-c", "kill -QUIT $$; exit 0"])
        #expect(quit.status == 128 + SIGQUIT)
    }

    @Test func onlyTheStandardDescriptorsReachTheChild() throws {
        let child = try ChildProcess.run("/bin/sh", ["-c", "ls /proc/self/fd"])
        let descriptors = String(decoding: child.output, as: UTF8.self).split(separator: "\n").compactMap { Int($0) }
        // 0, 1, 2, and the one `ls` opened to read the directory.
        #expect(descriptors.filter { $0 > 2 }.count <= 1, "\(descriptors)")
    }

    @Test func aProgramThatIsNotThereFailsToStart() {
        #expect(throws: POSIXError(.ENOENT)) { try ChildProcess.run("/nonexistent/paraphe-tool", []) }
    }
}
