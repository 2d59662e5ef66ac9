import Synchronization

/// What the binlog reader has read and the engine not yet marked: the lag a binlog-mode bridge
/// reports (events read and not yet published, and the server time of the oldest). Shared by
/// the source and its sessions.
final class BinlogProgress: Sendable {
    private struct State {
        var unmarked = 0
        var oldestEventTime: UInt32?
    }

    private let state = Mutex(State())

    func read(_ count: Int, eventTime: UInt32) {
        guard count > 0 else { return }
        state.withLock { state in
            if state.unmarked == 0 { state.oldestEventTime = eventTime }
            state.unmarked += count
        }
    }

    func marked(_ count: Int) {
        state.withLock { state in
            state.unmarked = max(0, state.unmarked - count)
            if state.unmarked == 0 { state.oldestEventTime = nil }
        }
    }

    func reset() {
        state.withLock { $0 = State() }
    }

    var unmarked: Int { state.withLock { $0.unmarked } }

    func lag(now: Double) -> (rows: Int64, oldestAgeSeconds: Double) {
        state.withLock { state in
            (Int64(state.unmarked), state.oldestEventTime.map { max(0, now - Double($0)) } ?? 0)
        }
    }
}
