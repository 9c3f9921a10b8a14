import Foundation
import Logging

// paraphe-bench: the in-process measures of the benchmark suite (bench/run drives it).
//
//   paraphe-bench keystroke [--rounds N] [--scratch DIR]
//   paraphe-bench phases [--runs N] [--scratch DIR]       (where activate's time goes; not a table row)
//   paraphe-bench kdf [--pairs N]                         (PKCS#12 MAC key derivation against PBKDF2, alternated)
//   paraphe-bench floor                                   (activate's floor once: its six computations on two threads)
//   paraphe-bench registry-seed --data-dir DIR --count N
//   paraphe-bench registry --data-dir DIR --count N [--lookups N] [--attempts N]
//   paraphe-bench load identity|enroll|lookups|burst --authority BIN [--postgres URL] [--seconds S] [--count N]
//     (enroll: [--only sqlite|postgres] measures one registry)
//        [--applications N] [--rate R]                   (the fleet's load rows; PGPASSWORD for --postgres)
//
// Each prints one line of JSON on standard output (figures in milliseconds) and progress on standard error.

func option(_ name: String, in arguments: [String]) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func intOption(_ name: String, in arguments: [String], default value: Int) throws -> Int {
    guard let text = option(name, in: arguments) else { return value }
    guard let parsed = Int(text.replacingOccurrences(of: "_", with: "")), parsed > 0 else {
        throw BenchError("\(name) wants a positive integer, not \(text)")
    }
    return parsed
}

func scratchDirectory(_ arguments: [String]) throws -> URL {
    if let path = option("--scratch", in: arguments) { return URL(fileURLWithPath: path) }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("paraphe-bench-\(getpid())")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    return url
}

func main() async -> Int32 {
    // The authority logs each identity check at info; the registry row makes thousands of them.
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .warning
        return handler
    }
    let arguments = Array(CommandLine.arguments.dropFirst())
    do {
        switch arguments.first {
        case "keystroke":
            let scratch = try scratchDirectory(arguments)
            defer { try? FileManager.default.removeItem(at: scratch) }
            try emit(try await KeystrokeBenchmark.run(rounds: intOption("--rounds", in: arguments, default: 50), scratch: scratch))
        case "phases":
            let scratch = try scratchDirectory(arguments)
            defer { try? FileManager.default.removeItem(at: scratch) }
            try emit(try await PhaseBenchmark.run(runs: intOption("--runs", in: arguments, default: 5), scratch: scratch))
        case "kdf":
            try emit(try KDFBenchmark.run(pairs: intOption("--pairs", in: arguments, default: 21)))
        case "floor":
            try emit(try FloorBenchmark.run())
        case "registry-seed":
            guard let path = option("--data-dir", in: arguments) else { throw BenchError("--data-dir is required") }
            let count = try intOption("--count", in: arguments, default: 1_000_000)
            try emit(try await RegistryBenchmark.seed(URL(fileURLWithPath: path), count: count))
        case "registry":
            guard let path = option("--data-dir", in: arguments) else { throw BenchError("--data-dir is required") }
            try emit(try await RegistryBenchmark.measure(
                URL(fileURLWithPath: path),
                count: intOption("--count", in: arguments, default: 1_000_000),
                lookups: intOption("--lookups", in: arguments, default: 20_000),
                attempts: intOption("--attempts", in: arguments, default: 2_000)))
        case "load":
            guard arguments.count > 1, let binary = option("--authority", in: arguments) else {
                throw BenchError("load identity|enroll|lookups --authority PARAPHE_AUTHORITY [--postgres URL]")
            }
            let scratch = try scratchDirectory(arguments)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let seconds = Double(try intOption("--seconds", in: arguments, default: 10))
            let postgres = option("--postgres", in: arguments).map {
                PostgresServer(url: $0, password: ProcessInfo.processInfo.environment["PGPASSWORD"],
                               directory: URL(fileURLWithPath: option("--keep", in: arguments) ?? scratch.path))
            }
            switch arguments[1] {
            case "identity":
                try emit(try await LoadBenchmark.identity(binary: binary, work: scratch, database: postgres, seconds: seconds))
            case "enroll":
                try emit(try await LoadBenchmark.enrollments(
                    binary: binary, work: scratch, database: postgres, count: intOption("--count", in: arguments, default: 4_000), seconds: seconds,
                    only: option("--only", in: arguments)))
            case "burst":
                try emit(try await LoadBenchmark.burst(binary: binary, work: scratch, count: intOption("--count", in: arguments, default: 200)))
            case "lookups":
                guard let postgres else { throw BenchError("lookups needs --postgres") }
                try emit(try await LoadBenchmark.lookups(
                    binary: binary, work: scratch, database: postgres, applications: intOption("--applications", in: arguments, default: 1_000_000),
                    rate: intOption("--rate", in: arguments, default: 200), seconds: seconds))
            default:
                throw BenchError("load identity|enroll|lookups")
            }
        default:
            note("usage: paraphe-bench keystroke [--rounds N] | phases [--runs N] | kdf [--pairs N] | registry-seed --data-dir DIR --count N | registry --data-dir DIR --count N [--lookups N] [--attempts N]")
            return 64
        }
        return 0
    } catch {
        note("paraphe-bench: \(error)")
        return 1
    }
}

exit(await main())
