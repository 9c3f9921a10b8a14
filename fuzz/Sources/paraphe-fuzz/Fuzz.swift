import Foundation
import ParapheFuzzEntries

/// The parser this process fuzzes, named by PARAPHE_FUZZ_TARGET (set once, before the first input).
let entry: @Sendable ([UInt8]) -> Void = {
    let name = ProcessInfo.processInfo.environment["PARAPHE_FUZZ_TARGET"] ?? ""
    guard let run = FuzzEntries.target(name) else {
        FileHandle.standardError.write(Data("PARAPHE_FUZZ_TARGET must be one of: \(FuzzEntries.targets.map(\.name).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return run
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    entry(bytes)
    return 0
}
