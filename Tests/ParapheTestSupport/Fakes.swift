import Activation
import Foundation

/// A clock that only moves when told to; for tests and benchmarks.
public final class ManualTimeSource: TimeSource, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date) { current = start }

    public func now() -> Date { lock.withLock { current } }

    /// Moves the clock forward (or back) by `seconds`.
    public func advance(by seconds: TimeInterval) { lock.withLock { current += seconds } }

    /// Sets the clock to `date`.
    public func set(_ date: Date) { lock.withLock { current = date } }
}

/// A clock read from a file (one ISO 8601 line), for a test to move a running program's time; the real clock
/// while the file is missing or unreadable.
public final class FileTimeSource: TimeSource, @unchecked Sendable {
    private let file: URL
    private let lock = NSLock()
    private var cached: (modified: Date, value: Date)?

    public init(_ file: URL) { self.file = file }

    public func now() -> Date {
        lock.withLock {
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: file.path))?[.modificationDate] as? Date else { return Date() }
            if let cached, cached.modified == modified { return cached.value }
            guard let text = try? String(contentsOf: file, encoding: .utf8),
                let value = ISO8601DateFormatter().date(from: text.trimmingCharacters(in: .whitespacesAndNewlines))
            else { return Date() }
            cached = (modified, value)
            return value
        }
    }
}

/// A repeatable pseudo-random source (SplitMix64); for tests only, never for real codes.
public final class SeededRandomSource: RandomSource, @unchecked Sendable {
    private let lock = NSLock()
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public func bytes(_ count: Int) -> [UInt8] {
        lock.withLock {
            var out: [UInt8] = []
            out.reserveCapacity(count)
            while out.count < count {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                withUnsafeBytes(of: z.littleEndian) { out.append(contentsOf: $0.prefix(count - out.count)) }
            }
            return out
        }
    }
}
