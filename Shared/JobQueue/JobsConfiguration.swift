import Config
import Contracts
import Foundation
import Runtime

/// `[jobs]`
public struct JobsConfiguration: Sendable {
    /// `queues`: default `["default"]`.
    public var queues = ["default"]
    /// `concurrency`: jobs run at once per worker. Default 32.
    public var concurrency = 32
    /// `visibility_timeout`: a job held longer by a silent worker is reclaimed. Default `60s`.
    public var visibilityTimeout: Duration = .seconds(60)
    /// `max_attempts`: default 5.
    public var maxAttempts = 5
    /// `backoff`: `{ kind, base, cap, jitter }`, for jobs enqueued without their own policy.
    /// Default exponential 500ms → 5m, jitter 0.2.
    public var backoff = BackoffPolicy.default
    /// `job_timeout`: an attempt running longer is cancelled and counted as failed (a job's own
    /// `timeout_ms` wins). Default `5m`.
    public var jobTimeout: Duration = .seconds(300)
    /// `shutdown_grace`: on SIGTERM, running jobs get this long to finish before they are put back
    /// on their queue. Default `10s`, at most 15 s.
    public var shutdownGrace: Duration = .seconds(10)
    /// `scheduler_interval`: how often due retries are moved back to their queue. Default `100ms`.
    public var schedulerInterval: Duration = .milliseconds(100)
    /// `unique_ttl`: the longest a uniqueness key is held (it is released when its job finishes). Default `24h`.
    public var uniqueTTL: Duration = .seconds(86_400)
    /// `dlq_max_length`: approximate cap of each dead-letter stream. Default 100000.
    public var deadLetterMaxLength = 100_000
    /// `consumer`: this worker's consumer name in the group. Default `<hostname>-<pid>-<random>`.
    public var consumer: String?
    /// `http_allowed_hosts`: where `http` jobs may send requests (their URL comes from event data).
    /// Host names, `*.domain`, addresses or networks (`10.0.0.0/8`). Empty (default): any host
    /// with public addresses only. Loopback, link-local and private addresses are refused unless an
    /// entry names the host or covers the address. Checked by job-worker (`OutboundPolicy`).
    public var httpAllowedHosts: [String] = []

    public init(_ scope: ConfigScope) throws(ConfigError) {
        queues = try scope.strings("queues", default: queues)
        for queue in queues where queue.isEmpty || queue.contains(where: { $0 == ":" || $0 == " " }) {
            throw scope.error("queues", "'\(queue)' is not a queue name (no ':' or spaces, not empty)")
        }
        jobTimeout = try scope.duration("job_timeout", default: jobTimeout)
        shutdownGrace = try scope.duration("shutdown_grace", default: shutdownGrace)
        guard shutdownGrace <= ShutdownBudget.maximumDrainGrace else {
            throw scope.error(
                "shutdown_grace",
                "at most 15s: the worker's whole shutdown (the grace, then putting unfinished jobs back) must end within the 25 s a service gets after SIGTERM"
            )
        }
        schedulerInterval = try scope.duration("scheduler_interval", default: schedulerInterval)
        uniqueTTL = try scope.duration("unique_ttl", default: uniqueTTL)
        deadLetterMaxLength = try scope.int("dlq_max_length", default: deadLetterMaxLength, range: 100...100_000_000)
        consumer = try scope.optionalString("consumer")
        httpAllowedHosts = try scope.strings("http_allowed_hosts", default: httpAllowedHosts)
        concurrency = try scope.int("concurrency", default: concurrency, range: 1...10_000)
        visibilityTimeout = try scope.duration("visibility_timeout", default: visibilityTimeout)
        maxAttempts = try scope.int("max_attempts", default: maxAttempts, range: 1...1000)
        backoff = try scope.section("backoff").backoffPolicy(default: backoff)
    }
}
