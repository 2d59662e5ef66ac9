import Contracts
import Logging
import Redis
import Synchronization

/// One circuit breaker per endpoint: `closed` counts the calls of the last `window` and their
/// retryable failures (in one-second buckets); when at least `minimumCalls` were made and the
/// failed share reaches `failureRate`, it opens and fails calls fast for `reset`; then it lets one
/// trial call through (`halfOpen`): success closes it, failure opens it again. So an endpoint that
/// fails 30% of the time keeps getting calls (its failures are retried), and one that is down
/// opens after `minimumCalls` calls. The breakers live in the process (no round trip per call); a
/// circuit opened by this process's failures is reported to `onOpen`, a trial call that closed one
/// to `onTrialSuccess`, and another worker's opening and closing are applied with `openShared` and
/// `closeShared` (see `CircuitSharing`).
final class CircuitBreakers: Sendable {
    enum Phase: Equatable {
        case closed
        /// `sharedUntil`: opened here from another worker's key, which expires then (that
        /// worker's trial call is due); nil when this worker's own failures opened it.
        case open(until: ContinuousClock.Instant, sharedUntil: ContinuousClock.Instant? = nil)
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

    /// When a circuit opens.
    struct Policy: Sendable {
        /// The failed share of the window's calls that opens the circuit (0 < rate ≤ 1).
        var failureRate: Double
        /// Calls in the window before the rate counts.
        var minimumCalls: Int
        /// How far back calls count (whole seconds, at least 1).
        var window: Duration

        init(failureRate: Double = 0.5, minimumCalls: Int = 20, window: Duration = .seconds(30)) {
            self.failureRate = failureRate
            self.minimumCalls = minimumCalls
            self.window = window
        }
    }

    /// The calls of the last `window` seconds of one closed circuit, per second.
    struct CallWindow: Equatable {
        private var seconds: [Int64]
        private var calls: [Int]
        private var failures: [Int]

        init(size: Int) {
            seconds = Array(repeating: -1, count: size)
            calls = Array(repeating: 0, count: size)
            failures = Array(repeating: 0, count: size)
        }

        /// Records a call at `second` (seconds of the continuous clock) and returns the window's
        /// totals.
        mutating func record(failed: Bool, at second: Int64) -> (calls: Int, failures: Int) {
            let slot = Int(second % Int64(seconds.count))
            if seconds[slot] != second {
                seconds[slot] = second
                calls[slot] = 0
                failures[slot] = 0
            }
            calls[slot] += 1
            if failed { failures[slot] += 1 }
            var total = (calls: 0, failures: 0)
            let oldest = second - Int64(seconds.count) + 1
            for index in seconds.indices where seconds[index] >= oldest {
                total.calls += calls[index]
                total.failures += failures[index]
            }
            return total
        }
    }

    let policy: Policy
    let reset: Duration
    private let phases = Mutex([String: Phase]())
    /// The calls of each closed circuit's window (emptied when it opens).
    private let windows = Mutex([String: CallWindow]())
    private let epoch = ContinuousClock.now
    /// Per endpoint, when a call last succeeded here (an answer that says nothing against the
    /// endpoint's health, a 4xx included).
    private let lastSuccess = Mutex([String: ContinuousClock.Instant]())
    private let onChange: @Sendable (String, Phase) -> Void
    /// Called when this process's own failures open a circuit (not when `openShared` does).
    private let onOpen = Mutex<(@Sendable (String) -> Void)?>(nil)
    /// Called when a trial call closed a circuit (half-open → closed).
    private let onTrialSuccess = Mutex<(@Sendable (String) -> Void)?>(nil)

    init(policy: Policy, reset: Duration, onChange: @escaping @Sendable (String, Phase) -> Void = { _, _ in }) {
        self.policy = policy
        self.reset = reset
        self.onChange = onChange
    }

    /// Whether one more call at `now`, failed or not, opens a closed circuit.
    private func opens(_ endpoint: String, failed: Bool, now: ContinuousClock.Instant) -> Bool {
        let second = (now - epoch).components.seconds
        let size = max(1, Int(policy.window.components.seconds))
        let total = windows.withLock { windows in
            windows[endpoint, default: CallWindow(size: size)].record(failed: failed, at: second)
        }
        guard failed, total.calls >= policy.minimumCalls else { return false }
        return Double(total.failures) >= policy.failureRate * Double(total.calls)
    }

    func phase(_ endpoint: String) -> Phase { phases.withLock { $0[endpoint] ?? .closed } }

    /// Sets the handler of circuits opened by this process's own failures.
    func whenOpened(_ handler: @escaping @Sendable (String) -> Void) { onOpen.withLock { $0 = handler } }

    /// Sets the handler of circuits closed by a successful trial call here.
    func whenTrialSucceeded(_ handler: @escaping @Sendable (String) -> Void) {
        onTrialSuccess.withLock { $0 = handler }
    }

    /// How long `endpoint`'s circuit stays open from `now`; nil when it is not open (closed,
    /// half-open, or open with its time up).
    func openRemaining(_ endpoint: String, now: ContinuousClock.Instant = .now) -> Duration? {
        guard case .open(let until, _) = phase(endpoint), until > now else { return nil }
        return until - now
    }

    /// Time for another worker's trial call and its `closed` to reach this worker's poll.
    static let trialSlack = Duration.seconds(3)

    /// When an event refused by `endpoint`'s open circuit should come back: when the circuit's
    /// time is up; for a circuit another worker opened, `trialSlack` after that worker's trial
    /// call is due (its key expires), as that trial may close it (one delivery per trial, not one
    /// per poll). Nil when the circuit is not open.
    func retryDelay(_ endpoint: String, now: ContinuousClock.Instant = .now) -> Duration? {
        guard case .open(let until, let keyExpiry) = phase(endpoint), until > now else { return nil }
        guard let keyExpiry, keyExpiry + Self.trialSlack > now else { return until - now }
        return min(until - now, keyExpiry + Self.trialSlack - now)
    }

    /// Another worker opened `endpoint`'s circuit, and its key stays for `remaining`: a closed
    /// circuit opens until then plus `trialMargin` (the time left for that worker's trial call to
    /// close it, see `closeShared`), an open one stays open at least that long; a half-open one
    /// is left to its own trial call. Ignored when a call to the endpoint succeeded here within
    /// `reset`: what fails for another worker (its network, its DNS, its own overload) may not
    /// fail here, and one unhealthy worker must not keep the endpoint closed to the fleet.
    /// With `onlyIfShared` (a key that took another's trial over, see `CircuitSharing`), only a
    /// circuit already open from another worker's key is extended. Returns whether it opened a
    /// closed circuit.
    @discardableResult
    func openShared(
        _ endpoint: String, for remaining: Duration, trialMargin: Duration = .zero, onlyIfShared: Bool = false,
        now: ContinuousClock.Instant = .now
    ) -> Bool {
        if let success = lastSuccess.withLock({ $0[endpoint] }), now - success < reset { return false }
        let changed = phases.withLock { phases -> Phase? in
            switch phases[endpoint] ?? .closed {
            case .closed:
                if onlyIfShared { return nil }
                let opened = Phase.open(until: now + remaining + trialMargin, sharedUntil: now + remaining)
                phases[endpoint] = opened
                return opened
            case .open(let current, let sharedUntil):
                if onlyIfShared && sharedUntil == nil { return nil }
                // A circuit this worker's own failures opened keeps its own trial: extended to
                // the key's time at most, never by the margin (a closing would not reach it).
                let shared = sharedUntil != nil
                phases[endpoint] = .open(
                    until: max(current, now + remaining + (shared ? trialMargin : .zero)),
                    sharedUntil: shared ? now + remaining : nil)
                return nil
            case .halfOpen:
                return nil
            }
        }
        guard let changed else { return false }
        onChange(endpoint, changed)
        return true
    }

    /// Another worker's trial call to `endpoint` succeeded: a circuit that is open here only
    /// because another worker opened it closes now, instead of waiting for a trial of its own.
    /// A circuit opened by failures here keeps its own trial. Returns whether it closed one.
    @discardableResult
    func closeShared(_ endpoint: String) -> Bool {
        let closed = phases.withLock { phases -> Bool in
            guard case .open(_, .some) = phases[endpoint] else { return false }
            phases[endpoint] = .closed
            return true
        }
        if closed { onChange(endpoint, .closed) }
        return closed
    }

    /// How long until this worker's trial call to `endpoint`, when its circuit is open only from
    /// another worker's key, that key has been gone for `trialSlack` with nothing closing it (its
    /// opener stopped, or got no event for the endpoint to try: a trial call of a few seconds
    /// would have written its outcome by then; a longer one, still running, writes it over the
    /// takeover when it ends), and the trial is not due yet. Nil otherwise. With `circuit_reset`
    /// under ~4 s the trial is due before that: every worker makes its own, as without takeovers.
    func orphanedShared(_ endpoint: String, now: ContinuousClock.Instant = .now) -> Duration? {
        guard case .open(let until, .some(let keyExpiry)) = phase(endpoint), keyExpiry + Self.trialSlack <= now,
            until > now
        else { return nil }
        return until - now
    }

    /// This worker took over the trial call of a circuit another worker opened (see
    /// `CircuitSharing.poll`), with a key of its own that lives until `trialSlack` after the
    /// trial is due. The circuit stays one opened from a key, so that another worker's closing
    /// still closes it; its trial's outcome is written for the others like any (a failure makes
    /// it this worker's own opening). Returns whether it was open from another worker's key.
    @discardableResult
    func adoptShared(_ endpoint: String) -> Bool {
        phases.withLock { phases in
            guard case .open(let until, .some) = phases[endpoint] else { return false }
            phases[endpoint] = .open(until: until, sharedUntil: until + Self.trialSlack)
            return true
        }
    }

    /// Whether a call may go to `endpoint` now.
    func allow(_ endpoint: String, now: ContinuousClock.Instant = .now) -> Bool {
        let (allowed, changed) = phases.withLock { phases -> (Bool, Phase?) in
            switch phases[endpoint] ?? .closed {
            case .closed: return (true, nil)
            case .open(let until, _) where now < until: return (false, nil)
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

    /// An allowed call that did not reach the endpoint (a result-cache hit, a cancelled call):
    /// nothing is learned, but a half-open circuit's trial slot is free again.
    func releaseTrial(_ endpoint: String) {
        phases.withLock { phases in
            if case .halfOpen(true) = phases[endpoint] { phases[endpoint] = .halfOpen(trialRunning: false) }
        }
    }

    /// Records the outcome of an allowed call. Permanent failures (a 400) say nothing about the
    /// endpoint's health: record them as successes.
    func record(_ endpoint: String, success: Bool, now: ContinuousClock.Instant = .now) {
        if success { lastSuccess.withLock { $0[endpoint] = now } }
        let (changed, trialSucceeded) = phases.withLock { phases -> (Phase?, Bool) in
            let current = phases[endpoint] ?? .closed
            let next: Phase
            switch (current, success) {
            case (.closed, _):
                next = opens(endpoint, failed: !success, now: now) ? .open(until: now + reset) : .closed
            case (.halfOpen, true): next = .closed
            case (.halfOpen, false): next = .open(until: now + reset)
            case (.open, _): next = current  // a call allowed before it opened
            }
            phases[endpoint] = next
            // A circuit that opened or closed again starts with an empty window.
            if next != .closed || current != .closed { windows.withLock { $0[endpoint] = nil } }
            var trialSucceeded = false
            if case .halfOpen = current, success { trialSucceeded = true }
            return (next.gaugeValue != current.gaugeValue ? next : nil, trialSucceeded)
        }
        if let changed {
            onChange(endpoint, changed)
            if case .open = changed, let onOpen = onOpen.withLock({ $0 }) { onOpen(endpoint) }
        }
        if trialSucceeded, let handler = onTrialSuccess.withLock({ $0 }) { handler(endpoint) }
    }
}
