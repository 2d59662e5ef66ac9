import Synchronization

/// Changes read and not yet marked, shared by the source (its lag) and its sessions.
final class ChangeTrackingProgress: Sendable {
    private let unmarked = Mutex(0)

    func read(_ count: Int) { unmarked.withLock { $0 += count } }
    func marked(_ count: Int) { unmarked.withLock { $0 = max(0, $0 - count) } }
    func reset() { unmarked.withLock { $0 = 0 } }
    var count: Int { unmarked.withLock { $0 } }
}
