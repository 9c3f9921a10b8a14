/// Source of random bytes (codes, tokens, serial numbers, salts, IVs); injected so tests can be repeatable.
public protocol RandomSource: Sendable {
    /// `count` random bytes.
    func bytes(_ count: Int) -> [UInt8]
}

/// Cryptographically secure random bytes from the operating system (`SystemRandomNumberGenerator`).
public struct SystemRandomSource: RandomSource {
    public init() {}

    /// `count` bytes from the system CSPRNG, eight at a time.
    public func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var result: [UInt8] = []
        result.reserveCapacity(count + 8)
        while result.count < count {
            let word = generator.next()
            withUnsafeBytes(of: word) { result.append(contentsOf: $0) }
        }
        return Array(result.prefix(count))
    }
}
