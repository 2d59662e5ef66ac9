/// The fleet's Redis key layout (ARCHITECTURE.md, "Redis keys"): every key a service, the CLI or
/// a test names is built here, under the configured `redis.key_prefix`.
public struct RedisKeys: Sendable, Hashable {
    public static let defaultPrefix = "fraiseql:"
    public let prefix: String

    public init(prefix: String = RedisKeys.defaultPrefix) {
        self.prefix = prefix
    }

    // MARK: observer-worker

    /// The stream of observer dead letters (field `dead_letter`).
    public var observerDeadLetters: String { "\(prefix)observer:dlq" }

    /// An endpoint's shared circuit (value: the opening worker; expires after `circuit_reset`).
    public func observerCircuit(endpoint: String) -> String { "\(prefix)observer:circuit:\(endpoint)" }

    /// The hash of done marks (`<event>.<action>`) of events that occurred in one time bucket.
    public func observerDone(bucket: Int64) -> String { "\(prefix)observer:done:\(bucket)" }

    /// The hash of processed (dedup) marks of events that occurred in one time bucket.
    public func observerProcessed(bucket: Int64) -> String { "\(prefix)observer:processed:\(bucket)" }

    /// A result-cache entry (`cache_ttl`): the hash of a rendered request that succeeded.
    public func observerResultCache(_ key: String) -> String { "\(prefix)observer:cache:\(key)" }

    // MARK: job queues

    /// The keys of one job queue.
    public func jobs(_ queue: String) -> JobQueueKeys { JobQueueKeys(prefix: prefix, queue: queue) }
}

/// The keys of one job queue: its stream (consumer group `workers`), the sorted set of delayed
/// retries, the dead-letter stream and the uniqueness keys.
public struct JobQueueKeys: Sendable, Hashable {
    public let queue: String
    public let stream: String
    public let delayed: String
    public let deadLetters: String
    private let uniquePrefix: String

    public init(prefix: String, queue: String) {
        self.queue = queue
        stream = "\(prefix)jobs:\(queue)"
        delayed = "\(stream):delayed"
        deadLetters = "\(stream):dlq"
        uniquePrefix = "\(stream):unique:"
    }

    public func unique(_ key: String) -> String { uniquePrefix + key }
}
