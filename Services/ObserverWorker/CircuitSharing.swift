import Contracts
import Logging
import Redis
import Synchronization

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
