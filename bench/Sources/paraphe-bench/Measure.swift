import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic time in nanoseconds (clock_gettime, CLOCK_MONOTONIC).
@inline(__always)
func nanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// Times one call in nanoseconds.
@inline(__always)
func timed(_ body: () throws -> Void) rethrows -> UInt64 {
    let start = nanoseconds()
    try body()
    return nanoseconds() - start
}

/// A set of samples in nanoseconds, summarized by nearest-rank percentiles.
struct Samples: Sendable {
    private(set) var values: [UInt64] = []

    init() {}

    mutating func add(_ value: UInt64) { values.append(value) }

    var count: Int { values.count }

    /// Nearest-rank percentile (`p` in 0...100) of the samples, in nanoseconds; 0 when empty.
    func percentile(_ p: Double) -> UInt64 {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(sorted.count - 1, Swift.max(0, rank - 1))]
    }

    var max: UInt64 { values.max() ?? 0 }
    var mean: Double { values.isEmpty ? 0 : Double(values.reduce(0, +)) / Double(values.count) }

    /// `{"n":…, "p50_ms":…, "p90_ms":…, "p99_ms":…, "max_ms":…, "mean_ms":…}`.
    func json() -> [String: Any] {
        [
            "n": count,
            "p50_ms": milliseconds(percentile(50)),
            "p90_ms": milliseconds(percentile(90)),
            "p99_ms": milliseconds(percentile(99)),
            "max_ms": milliseconds(max),
            "mean_ms": (mean / 1_000_000 * 10_000).rounded() / 10_000,
        ]
    }

    /// One line for people: `n=… p50=… p99=… max=…` in milliseconds.
    func line() -> String {
        "n=\(count) p50=\(format(percentile(50))) p90=\(format(percentile(90))) p99=\(format(percentile(99))) max=\(format(max)) ms"
    }
}

func milliseconds(_ value: UInt64) -> Double { (Double(value) / 1_000_000 * 10_000).rounded() / 10_000 }

func format(_ value: UInt64) -> String { String(format: "%.4f", Double(value) / 1_000_000) }

/// Writes a progress or diagnostic line to standard error (standard output carries the JSON result).
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Prints `object` as one line of JSON on standard output.
func emit(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// A failure of the benchmark itself (bad arguments, unexpected results).
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
