import Synchronization

/// Bounded in-flight work: `acquireAvailable` waits until at least one slot is free and takes all
/// free slots (a fetch asks for that many items); each finished item gives its slot back.
public final class WorkSlots: Sendable {
    private struct State {
        var free: Int
        var waiter: CheckedContinuation<Int, Never>?
    }
    private let state: Mutex<State>
    public let total: Int

    public init(_ total: Int) {
        self.total = total
        state = Mutex(State(free: total))
    }

    public var inUse: Int { total - state.withLock { $0.free } }

    public func acquireAvailable() async -> Int {
        await withCheckedContinuation { continuation in
            let taken = state.withLock { state -> Int? in
                if state.free > 0 {
                    let taken = state.free
                    state.free = 0
                    return taken
                }
                state.waiter = continuation
                return nil
            }
            if let taken { continuation.resume(returning: taken) }
        }
    }

    /// Wakes a waiting `acquireAvailable` with 0 slots (shutdown).
    public func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<Int, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: 0)
    }

    public func release(_ count: Int) {
        guard count > 0 else { return }
        let resume = state.withLock { state -> (CheckedContinuation<Int, Never>, Int)? in
            state.free += count
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            let taken = state.free
            state.free = 0
            return (waiter, taken)
        }
        if let (waiter, taken) = resume { waiter.resume(returning: taken) }
    }
}
