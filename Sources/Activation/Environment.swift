import Foundation

/// Tells the current time; injected so every rule can run on a fixed clock.
public protocol TimeSource: Sendable {
    /// The current instant.
    func now() -> Date
}

/// The system clock.
public struct SystemTimeSource: TimeSource {
    public init() {}
    public func now() -> Date { Date() }
}
