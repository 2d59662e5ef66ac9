import Foundation

/// How long to wait before the next attempt of a failed job or action.
///
/// The delay after the `n`-th failure (n ≥ 1) is `base` (fixed), `base·n` (linear) or
/// `base·2^(n-1)` (exponential), capped at `cap`, then multiplied by a jitter factor drawn
/// uniformly from `[1 - jitter, 1 + jitter]` and capped again.
public struct BackoffPolicy: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Hashable, Sendable, CaseIterable {
        case fixed
        case linear
        case exponential
    }

    public var kind: Kind
    public var baseMilliseconds: Int64
    public var capMilliseconds: Int64
    /// 0 ... 1.
    public var jitter: Double

    public init(kind: Kind, baseMilliseconds: Int64, capMilliseconds: Int64, jitter: Double = 0) {
        self.kind = kind
        self.baseMilliseconds = baseMilliseconds
        self.capMilliseconds = capMilliseconds
        self.jitter = jitter
    }

    public static let `default` = BackoffPolicy(
        kind: .exponential, baseMilliseconds: 500, capMilliseconds: 300_000, jitter: 0.2)

    /// The delay in milliseconds after failure number `failures` (1-based).
    /// - Parameter random: a uniform draw in `[0, 1)`; pass a fixed value for a deterministic schedule.
    public func delayMilliseconds(afterFailure failures: Int, random: Double) -> Int64 {
        let n = max(1, failures)
        let raw: Double
        switch kind {
        case .fixed: raw = Double(baseMilliseconds)
        case .linear: raw = Double(baseMilliseconds) * Double(n)
        case .exponential: raw = Double(baseMilliseconds) * pow(2, Double(min(n - 1, 62)))
        }
        let cap = Double(capMilliseconds)
        let capped = min(raw, cap)
        let factor = 1 + jitter * (2 * random - 1)
        return Int64(min(cap, max(0, capped * factor)).rounded())
    }

    public func delay(afterFailure failures: Int) -> Duration {
        .milliseconds(delayMilliseconds(afterFailure: failures, random: Double.random(in: 0..<1)))
    }

    /// Decoded values are clamped: delays to 0 … 30 days, jitter to 0 … 1.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let longest: ClosedRange<Int64> = 0...2_592_000_000
        kind = try container.decode(Kind.self, forKey: .kind)
        baseMilliseconds = try container.decode(Int64.self, forKey: .baseMilliseconds).clamped(to: longest)
        capMilliseconds = try container.decode(Int64.self, forKey: .capMilliseconds).clamped(to: longest)
        let jitter = try container.decode(Double.self, forKey: .jitter)
        self.jitter = jitter.isFinite ? min(1, max(0, jitter)) : 0
    }

    enum CodingKeys: String, CodingKey {
        case kind, jitter
        case baseMilliseconds = "base_ms"
        case capMilliseconds = "cap_ms"
    }
}

/// A unit of long-running work for job-worker.
public struct Job: Codable, Hashable, Sendable {
    public var id: UUID
    public var queue: String
    /// The registered job kind (`http`, `email`, `noop`, …).
    public var kind: String
    public var payload: JSONValue
    /// Attempts made so far (0 before the first).
    public var attempt: Int
    public var maxAttempts: Int
    public var backoff: BackoffPolicy
    public var enqueuedAt: Timestamp
    /// Not to be started before this time (scheduled jobs and retries).
    public var notBefore: Timestamp?
    /// The event that caused the job, if any.
    public var sourceEventId: UUID?
    /// Optional uniqueness key: a job with the same key is not enqueued twice while pending.
    public var uniqueKey: String?
    /// Optional per-attempt timeout in milliseconds.
    public var timeoutMilliseconds: Int64?
    /// When the first attempt failed (set by job-worker on the first failure).
    public var firstFailedAt: Timestamp?
    /// The error of the last failed attempt (set by job-worker).
    public var lastError: String?

    public init(
        id: UUID = UUID(), queue: String, kind: String, payload: JSONValue, attempt: Int = 0, maxAttempts: Int = 5,
        backoff: BackoffPolicy = .default, enqueuedAt: Timestamp = .now(), notBefore: Timestamp? = nil,
        sourceEventId: UUID? = nil, uniqueKey: String? = nil, timeoutMilliseconds: Int64? = nil
    ) {
        self.id = id
        self.queue = queue
        self.kind = kind
        self.payload = payload
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.enqueuedAt = enqueuedAt
        self.notBefore = notBefore
        self.sourceEventId = sourceEventId
        self.uniqueKey = uniqueKey
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// The ranges numeric fields are clamped to when a job is decoded: a job is data from
    /// outside (an observer's template, `fraiseql-observer jobs enqueue`, another producer), and an
    /// absurd count or timeout must not trap arithmetic downstream.
    public enum Limits {
        public static let attempt = 0...1_000_000
        public static let maxAttempts = 1...1_000_000
        /// 1 ms to 24 hours.
        public static let timeoutMilliseconds: ClosedRange<Int64> = 1...86_400_000
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(UUID.self, forKey: .id)
        queue = try container.decode(String.self, forKey: .queue)
        kind = try container.decode(String.self, forKey: .kind)
        payload = try container.decode(JSONValue.self, forKey: .payload)
        attempt = try container.decode(Int.self, forKey: .attempt).clamped(to: Limits.attempt)
        maxAttempts = try container.decode(Int.self, forKey: .maxAttempts).clamped(to: Limits.maxAttempts)
        backoff = try container.decode(BackoffPolicy.self, forKey: .backoff)
        enqueuedAt = try container.decode(Timestamp.self, forKey: .enqueuedAt)
        notBefore = try container.decodeIfPresent(Timestamp.self, forKey: .notBefore)
        sourceEventId = try container.decodeIfPresent(UUID.self, forKey: .sourceEventId)
        uniqueKey = try container.decodeIfPresent(String.self, forKey: .uniqueKey)
        timeoutMilliseconds = try container.decodeIfPresent(Int64.self, forKey: .timeoutMilliseconds)?
            .clamped(to: Limits.timeoutMilliseconds)
        firstFailedAt = try container.decodeIfPresent(Timestamp.self, forKey: .firstFailedAt)
        lastError = try container.decodeIfPresent(String.self, forKey: .lastError)
    }

    enum CodingKeys: String, CodingKey {
        case id, queue, kind, payload, attempt, backoff
        case maxAttempts = "max_attempts"
        case enqueuedAt = "enqueued_at"
        case notBefore = "not_before"
        case sourceEventId = "source_event_id"
        case uniqueKey = "unique_key"
        case timeoutMilliseconds = "timeout_ms"
        case firstFailedAt = "first_failed_at"
        case lastError = "last_error"
    }
}

/// Something that could not be processed, kept with the reason so nothing is lost.
public struct DeadLetter: Codable, Hashable, Sendable {
    public enum Reason: String, Codable, Hashable, Sendable {
        /// The payload could not be decoded (not JSON, or not the contract).
        case undecodable
        /// An action or job failed with an error that retrying cannot fix (e.g. HTTP 400).
        case permanentError = "permanent_error"
        /// `max_deliver` (observer) or `max_attempts` (jobs) was reached.
        case retriesExhausted = "retries_exhausted"
        /// Larger than the fleet takes (`limits.max_event_bytes`, a job payload's limit).
        case tooLarge = "too_large"
        /// Delivered more often than `[observer] delivery_limit` allows, whatever the reason (a
        /// message that crashes the worker that holds it is settled here, before decoding).
        case deliveryLimit = "delivery_limit"
    }

    public var id: UUID
    /// Where it came from: a NATS subject (`entity.change.order.update`) or a job queue (`jobs:default`).
    public var origin: String
    /// The raw payload as received (UTF-8; invalid bytes replaced).
    public var payload: String
    public var reason: Reason
    public var attempts: Int
    public var firstFailedAt: Timestamp
    public var lastFailedAt: Timestamp
    public var lastError: String
    /// The event id when the payload decoded far enough to have one.
    public var eventId: UUID?
    /// The observer or job kind that failed, when known.
    public var handler: String?

    public init(
        id: UUID = UUID(), origin: String, payload: String, reason: Reason, attempts: Int, firstFailedAt: Timestamp,
        lastFailedAt: Timestamp, lastError: String, eventId: UUID? = nil, handler: String? = nil
    ) {
        self.id = id
        self.origin = origin
        self.payload = payload
        self.reason = reason
        self.attempts = attempts
        self.firstFailedAt = firstFailedAt
        self.lastFailedAt = lastFailedAt
        self.lastError = lastError
        self.eventId = eventId
        self.handler = handler
    }

    enum CodingKeys: String, CodingKey {
        case id, origin, payload, reason, attempts, handler
        case firstFailedAt = "first_failed_at"
        case lastFailedAt = "last_failed_at"
        case lastError = "last_error"
        case eventId = "event_id"
    }
}

extension Comparable {
    /// The value brought into `range`.
    public func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
