import Foundation
import ParapheShared
import Synchronization
import Wizard

#if canImport(Glibc)
    import Glibc
#endif

/// The one queue of the program loop: effects post their results here, and a front end waits on
/// `descriptor` together with its own input (the keyboard, standard input), so nothing polls.
public final class EventQueue: Sendable {
    private let pending = Mutex<[WizardEvent]>([])
    private let reader: Int32
    private let writer: Int32

    public init() {
        let ends = FileSystem.pipe(nonBlocking: true)
        reader = ends?.reader ?? -1
        writer = ends?.writer ?? -1
    }

    deinit {
        if reader >= 0 { close(reader) }
        if writer >= 0 { close(writer) }
    }

    /// Readable while results are waiting.
    public var descriptor: Int32 { reader }

    /// Adds a result and wakes whoever waits on `descriptor`.
    public func post(_ event: WizardEvent) {
        pending.withLock { $0.append(event) }
        var byte: UInt8 = 1
        _ = write(writer, &byte, 1)
    }

    /// Whether results are waiting.
    public var hasPending: Bool { pending.withLock { !$0.isEmpty } }

    /// Takes every result waiting, oldest first.
    public func drain() -> [WizardEvent] {
        var bytes = [UInt8](repeating: 0, count: 256)
        while bytes.withUnsafeMutableBytes({ read(reader, $0.baseAddress, $0.count) }) > 0 {}
        return pending.withLock { events in
            defer { events.removeAll() }
            return events
        }
    }
}
