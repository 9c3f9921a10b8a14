import CFuzzer
import Foundation
import ParapheFuzzEntries

/// The parser this process fuzzes, named by PARAPHE_FUZZ_TARGET.
let entry: @Sendable ([UInt8]) -> Void = {
    let name = ProcessInfo.processInfo.environment["PARAPHE_FUZZ_TARGET"] ?? ""
    guard let run = FuzzEntries.target(name) else {
        FileHandle.standardError.write(Data("PARAPHE_FUZZ_TARGET must be one of: \(FuzzEntries.targets.map(\.name).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return run
}()

/// libFuzzer's driver with our own main (SwiftPM gives an executable's main another name when it links, so libFuzzer's
/// own main would not be the program's): each input goes to the chosen parser.
@main
enum Fuzz {
    static func main() {
        _ = entry
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            entry(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        }
        exit(status)
    }
}
