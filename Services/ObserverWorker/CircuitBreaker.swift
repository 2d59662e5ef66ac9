import Synchronization

/// One circuit breaker per endpoint: `closed` counts consecutive retryable failures; at the
/// threshold it opens and fails calls fast for `reset`; then it lets one trial call through
/// (`halfOpen`): success closes it, failure opens it again.
final class CircuitBreakers: Sendable {
    enum Phase: Equatable {
        case closed(failures: Int)
        case open(until: ContinuousClock.Instant)
        case halfOpen(trialRunning: Bool)

        /// For the `fraiseql_observer_circuit_state` gauge: 0 closed, 1 open, 2 half-open.
        var gaugeValue: Int {
            switch self {
            case .closed: 0
            case .open: 1
            case .halfOpen: 2
            }
        }
    }

    let threshold: Int
    let reset: Duration
    private let phases = Mutex([String: Phase]())
    private let onChange: @Sendable (String, Phase) -> Void

    init(threshold: Int, reset: Duration, onChange: @escaping @Sendable (String, Phase) -> Void = { _, _ in }) {
        self.threshold = threshold
        self.reset = reset
        self.onChange = onChange
    }

    func phase(_ endpoint: String) -> Phase { phases.withLock { $0[endpoint] ?? .closed(failures: 0) } }

    /// Whether a call may go to `endpoint` now.
    func allow(_ endpoint: String, now: ContinuousClock.Instant = .now) -> Bool {
        let (allowed, changed) = phases.withLock { phases -> (Bool, Phase?) in
            switch phases[endpoint] ?? .closed(failures: 0) {
            case .closed: return (true, nil)
            case .open(let until) where now < until: return (false, nil)
            case .open:
                phases[endpoint] = .halfOpen(trialRunning: true)
                return (true, .halfOpen(trialRunning: true))
            case .halfOpen(let trialRunning):
                if trialRunning { return (false, nil) }
                phases[endpoint] = .halfOpen(trialRunning: true)
                return (true, nil)
            }
        }
        if let changed { onChange(endpoint, changed) }
        return allowed
    }

    /// Records the outcome of an allowed call. Permanent failures (a 400) say nothing about the
    /// endpoint's health: record them as successes.
    func record(_ endpoint: String, success: Bool, now: ContinuousClock.Instant = .now) {
        let changed = phases.withLock { phases -> Phase? in
            let current = phases[endpoint] ?? .closed(failures: 0)
            let next: Phase
            switch (current, success) {
            case (.closed, true), (.halfOpen, true): next = .closed(failures: 0)
            case (.closed(let failures), false):
                next = failures + 1 >= threshold ? .open(until: now + reset) : .closed(failures: failures + 1)
            case (.halfOpen, false): next = .open(until: now + reset)
            case (.open, _): next = current  // a call allowed before it opened
            }
            phases[endpoint] = next
            return next.gaugeValue != current.gaugeValue ? next : nil
        }
        if let changed { onChange(endpoint, changed) }
    }
}
