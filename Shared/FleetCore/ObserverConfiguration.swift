import Config
import Contracts
import Foundation
import Runtime

/// `[observer]`
public struct ObserverConfiguration: Sendable {
    /// `transport`: `nats` or `postgres`. Default `nats`.
    public var transport = "nats"
    /// `consumer`: durable consumer name shared by all replicas. Default `observer-worker`.
    public var consumer = "observer-worker"
    /// `max_in_flight`: messages processed at once per worker. Default 256.
    public var maxInFlight = 256
    /// `max_deliver`: attempts of an event (deliveries that tried its failing actions) before
    /// `on_failure`, the default of each observer's `max_attempts`. Default 16: with the default
    /// `backoff` the 15 waits add up to about 27 hours (docs/configuration.md has the schedule).
    public var maxDeliver = 16
    /// `delivery_limit`: deliveries of one message, whatever their cause (attempts, refusals by
    /// an open circuit, hand-backs at shutdown, crashes), past which the worker dead-letters it
    /// before even decoding it (reason `delivery_limit`); the durable consumer's `max_deliver` is
    /// this plus 10, the server's backstop. Default 500.
    public var deliveryLimit = 500
    /// `max_event_bytes`: a larger message is dead-lettered (`too_large`) without being decoded.
    /// Default 8 MiB.
    public var maxEventBytes = 8 << 20
    /// `ack_wait`: default `30s`.
    public var ackWait: Duration = .seconds(30)
    /// `backoff`: `{ kind, base, cap, jitter }`. Default exponential 5s → 8h, jitter 0.2.
    public var backoff = ObserverConfiguration.defaultBackoff
    public static let defaultBackoff = BackoffPolicy(
        kind: .exponential, baseMilliseconds: 5_000, capMilliseconds: 8 * 3_600_000, jitter: 0.2)
    /// `dedup_window`: how long processed event ids are remembered. Default `10m`.
    public var dedupWindow: Duration = .seconds(600)
    /// `done_ttl`: how long per-action done marks are kept (longer than an event can be redelivered). Default `24h`.
    public var doneTTL: Duration = .seconds(86_400)
    /// `circuit_failure_rate`: the share of calls to one endpoint within `circuit_window` that
    /// failed retryably, at or above which its circuit opens. Default 0.5.
    public var circuitFailureRate = 0.5
    /// `circuit_min_calls`: calls within `circuit_window` before the rate counts. Default 20.
    public var circuitMinCalls = 20
    /// `circuit_window`: how far back calls count toward the rate. Default `30s`.
    public var circuitWindow: Duration = .seconds(30)
    /// `circuit_reset`: how long an open circuit stays open before one trial request. Default `30s`.
    public var circuitReset: Duration = .seconds(30)
    /// `shutdown_grace`: on SIGTERM, in-flight events get this long, the rest are NAKed. Default
    /// `10s`, at most `15s` (``ShutdownBudget/maximumDrainGrace``).
    public var shutdownGrace: Duration = .seconds(10)
    /// `dlq_max_length`: approximate cap of the observer dead-letter stream. Default 100000.
    public var deadLetterMaxLength = 100_000

    public init(_ scope: ConfigScope) throws(ConfigError) {
        transport = try scope.choice("transport", ["nats", "postgres"], default: transport)
        consumer = try scope.string("consumer", default: consumer)
        maxInFlight = try scope.int("max_in_flight", default: maxInFlight, range: 1...100_000)
        maxDeliver = try scope.int("max_deliver", default: maxDeliver, range: 1...1000)
        deliveryLimit = try scope.int("delivery_limit", default: deliveryLimit, range: 10...100_000)
        maxEventBytes = try scope.int("max_event_bytes", default: maxEventBytes, range: 1024...(256 << 20))
        ackWait = try scope.duration("ack_wait", default: ackWait)
        backoff = try scope.section("backoff").backoffPolicy(default: backoff)
        dedupWindow = try scope.duration("dedup_window", default: dedupWindow)
        doneTTL = try scope.duration("done_ttl", default: doneTTL)
        // They are the marks' expiry in Redis: 0 would delete every mark of a hash it is set on.
        for (key, value) in [("dedup_window", dedupWindow), ("done_ttl", doneTTL)] where value < .seconds(1) {
            throw scope.error(key, "must be at least 1s")
        }
        guard doneTTL >= dedupWindow else {
            // A one-action event's done mark is its only mark: it must last the dedup window.
            throw scope.error("done_ttl", "must be at least dedup_window (\(dedupWindow))")
        }
        if scope.contains("circuit_failures") {
            throw scope.error(
                "circuit_failures",
                "was replaced by circuit_failure_rate, circuit_min_calls and circuit_window (a circuit opens on a failure rate, not a run of failures)"
            )
        }
        circuitFailureRate = try scope.double("circuit_failure_rate", default: circuitFailureRate, range: 0.01...1)
        circuitMinCalls = try scope.int("circuit_min_calls", default: circuitMinCalls, range: 1...100_000)
        circuitWindow = try scope.duration("circuit_window", default: circuitWindow)
        guard circuitWindow >= .seconds(1) else { throw scope.error("circuit_window", "must be at least 1s") }
        circuitReset = try scope.duration("circuit_reset", default: circuitReset)
        shutdownGrace = try scope.duration("shutdown_grace", default: shutdownGrace)
        guard shutdownGrace <= ShutdownBudget.maximumDrainGrace else {
            throw scope.error(
                "shutdown_grace",
                "at most 15s: the worker's whole shutdown (the grace, the last marks and acks) must end within the 25 s a service gets after SIGTERM"
            )
        }
        deadLetterMaxLength = try scope.int("dlq_max_length", default: deadLetterMaxLength, range: 100...100_000_000)
    }
}
