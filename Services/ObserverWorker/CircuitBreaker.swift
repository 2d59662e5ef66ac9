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

/// Shares the workers' circuits through Redis (`<prefix>observer:circuit:<endpoint>`, the opening
/// worker's name, expiring after `circuit_reset`): a worker whose failures open a circuit writes
/// the key; every worker reads the keys of its endpoints each second and opens its own circuit for
/// the key's remaining time. So an endpoint that fails stops getting calls from the whole fleet
/// within about a second, instead of after `circuit_min_calls` calls in each worker.
///
/// One trial call for the fleet, not one per worker: a worker applies another's opening for the
/// key's time plus one more `circuit_reset`, so the opener's trial comes first. If it fails, the
/// opener writes the key again and the others stay open; if it succeeds, the opener writes
/// `closed <worker>` (for three seconds) and the others close their circuits at their next
/// poll. When nothing is heard for `trialSlack` after the key expired (the opener stopped, or
/// got no event for the endpoint), the first worker to poll takes the trial over: it writes
/// `trial <worker>` (`SET NX`, until `trialSlack` after its trial is due) and makes the trial;
/// the others extend the circuits they took from Redis by that key (a takeover never opens a
/// circuit, nor holds one a worker's own failures opened, whose own trial stands). So the fleet
/// keeps making one trial call, not one per worker. A successful trial anywhere writes `closed`
/// over a takeover. Redis down: each worker keeps its own circuits (fail open, like dedup).
struct CircuitSharing: Sendable {
    let breakers: CircuitBreakers
    let redis: RedisClient
    let prefix: String
    let endpoints: [String]
    /// Written as the key's value: which worker opened it (`host:pid:random`, unique even where
    /// workers share a host name and a pid, as with host networking), for operators, and so that
    /// a worker skips its own keys.
    let worker: String
    let logger: Logger
    let onError: @Sendable () -> Void

    func key(_ endpoint: String) -> String { RedisKeys(prefix: prefix).observerCircuit(endpoint: endpoint) }

    /// Writes the key of a circuit this process opened.
    func opened(_ endpoint: String) async {
        do {
            _ = try await redis.set(key(endpoint), to: .string(worker), expiry: breakers.reset)
        } catch {
            onError()
            logger.debug("could not share an open circuit", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
        }
    }

    /// How long a closing stays readable: three poll intervals.
    static let closingLifetime = Duration.seconds(3)

    /// Writes that a trial call here closed the circuit, so the other workers close theirs; only
    /// over this worker's own opening, a closing, a takeover of the trial, or no key: another
    /// worker's fresh opening (its own trial failed meanwhile) stands.
    func trialSucceeded(_ endpoint: String) async {
        do {
            let reply = try await redis.eval(
                """
                local current = redis.call('GET', KEYS[1])
                if current and current ~= ARGV[1] and string.sub(current, 1, 7) ~= 'closed '
                    and string.sub(current, 1, 6) ~= 'trial ' then return 0 end
                redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
                return 1
                """, keys: [key(endpoint)],
                arguments: [
                    .string(worker), .string(ObserverWorker.closedMarker + worker),
                    RedisArgument(Int(Self.closingLifetime.milliseconds)),
                ])
            if case .error(let text) = reply { throw RedisError(code: .server, message: text) }
        } catch {
            onError()
            logger.debug(
                "could not share a closed circuit", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
        }
    }

    /// Reads every endpoint's key once (its opener and remaining time) and opens the circuits
    /// other workers opened; this worker's own keys are skipped (its circuit is already open, or
    /// its trial call has closed it again).
    func poll() async {
        guard !endpoints.isEmpty else { return }
        let shared: (open: [String: ObserverWorker.OpenCircuit], closedBy: [String: String], errorReplies: Int)
        do {
            shared = try await ObserverWorker.openCircuits(redis: redis, prefix: prefix, endpoints: endpoints)
        } catch {
            onError()
            return
        }
        if shared.errorReplies > 0 { onError() }
        for endpoint in endpoints where shared.open[endpoint] == nil && shared.closedBy[endpoint] == nil {
            guard let due = breakers.orphanedShared(endpoint) else { continue }
            await takeOverTrial(endpoint, due: due)
        }
        for endpoint in endpoints {
            if let closer = shared.closedBy[endpoint], closer != worker, breakers.closeShared(endpoint) {
                logger.notice(
                    "circuit closed by another worker's successful trial call",
                    metadata: ["endpoint": "\(endpoint)", "closed.by": "\(closer)"])
            }
            guard let open = shared.open[endpoint], open.opener != worker else { continue }
            // One more circuit_reset: the opener's trial call decides first (see above).
            if open.takenOver {
                breakers.openShared(endpoint, for: open.remaining, trialMargin: breakers.reset, onlyIfShared: true)
            } else if breakers.openShared(endpoint, for: open.remaining, trialMargin: breakers.reset) {
                logger.notice(
                    "circuit opened by another worker",
                    metadata: [
                        "endpoint": "\(endpoint)", "opened.by": "\(open.opener)", "open.for": "\(open.remaining)",
                    ])
            }
        }
    }
}

extension CircuitSharing {
    /// Claims the trial call of a circuit whose opener went quiet: the first worker to write the
    /// key makes it; the others see the key at their next poll and wait for that trial.
    fileprivate func takeOverTrial(_ endpoint: String, due: Duration) async {
        do {
            let ttl = due + CircuitBreakers.trialSlack
            let reply = try await redis.execute(
                "SET",
                [
                    .string(key(endpoint)), .string(ObserverWorker.trialMarker + worker), "NX", "PX",
                    RedisArgument(Int(ttl.milliseconds)),
                ])
            if case .error(let text) = reply { throw RedisError(code: .server, message: text) }
            guard !reply.isNull, breakers.adoptShared(endpoint) else { return }
            logger.notice(
                "circuit's opener went quiet; this worker makes the trial call",
                metadata: ["endpoint": "\(endpoint)", "trial.in": "\(due)"])
        } catch {
            onError()
            logger.debug(
                "could not take over a circuit's trial call",
                metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
        }
    }
}

extension ObserverWorker {
    /// A shared circuit that a worker opened: which worker, and how long it stays open.
    public struct OpenCircuit: Sendable {
        /// The worker that opened it, or that took its trial call over.
        public let opener: String
        public let remaining: Duration
        /// Another worker took the trial call over after the opener went quiet (`trial <worker>`).
        public var takenOver = false
    }

    /// The value prefix of a key that says a trial call closed the circuit (then the worker).
    public static let closedMarker = "closed "
    /// The value prefix of a key that says a worker took the trial call over (then the worker).
    public static let trialMarker = "trial "

    /// The shared circuits open among `endpoints`, those a trial call just closed (by which
    /// worker), in one round trip, and how many replies were Redis errors (those endpoints count
    /// as closed).
    public static func openCircuits(redis: RedisClient, prefix: String, endpoints: [String]) async throws
        -> (open: [String: OpenCircuit], closedBy: [String: String], errorReplies: Int)
    {
        let replies = try await redis.pipeline(
            endpoints.flatMap { endpoint in
                let key = RedisKeys(prefix: prefix).observerCircuit(endpoint: endpoint)
                return [RedisCommand("GET", [.string(key)]), RedisCommand("PTTL", [.string(key)])]
            })
        var open: [String: OpenCircuit] = [:]
        var closedBy: [String: String] = [:]
        for (index, endpoint) in endpoints.enumerated() {
            guard let value = replies[2 * index].string, case .integer(let milliseconds) = replies[2 * index + 1],
                milliseconds > 0
            else { continue }
            if value.hasPrefix(closedMarker) {
                closedBy[endpoint] = String(value.dropFirst(closedMarker.count))
            } else if value.hasPrefix(trialMarker) {
                open[endpoint] = OpenCircuit(
                    opener: String(value.dropFirst(trialMarker.count)), remaining: .milliseconds(milliseconds),
                    takenOver: true)
            } else {
                open[endpoint] = OpenCircuit(opener: value, remaining: .milliseconds(milliseconds))
            }
        }
        return (open, closedBy, replies.count { $0.isError })
    }
}
