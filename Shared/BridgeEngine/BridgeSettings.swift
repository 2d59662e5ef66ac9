import Contracts

/// How a ``BridgeService`` runs: what it names its source, how it batches, waits, publishes and
/// purges. Built by each bridge executable from its configuration section.
public struct BridgeSettings: Sendable {
    public var transportName: String
    public var subjectNamer: SubjectNamer
    public var batchSize: Int
    public var pollInterval: Duration
    public var publishTimeout: Duration
    /// Published rows older than this are deleted in small batches (nil: kept).
    public var retention: Duration?
    public var retentionInterval: Duration
    public var oversized: OversizedPolicy
    /// The largest message to publish (headers included); nil: the server's `max_payload`.
    public var maxMessageBytes: Int?
    /// How often a bridge whose source must be resynchronised (``BridgeError/Code/resyncRequired``) checks again.
    public var resyncCheckInterval: Duration

    public init(
        transportName: String, subjectNamer: SubjectNamer, batchSize: Int = 500, pollInterval: Duration = .seconds(1),
        publishTimeout: Duration = .seconds(10), retention: Duration? = nil, retentionInterval: Duration = .seconds(60),
        oversized: OversizedPolicy = .deadLetter, maxMessageBytes: Int? = nil,
        resyncCheckInterval: Duration = .seconds(60)
    ) {
        self.resyncCheckInterval = resyncCheckInterval
        self.oversized = oversized
        self.maxMessageBytes = maxMessageBytes
        self.retention = retention
        self.retentionInterval = retentionInterval
        self.transportName = transportName
        self.subjectNamer = subjectNamer
        self.batchSize = batchSize
        self.pollInterval = pollInterval
        self.publishTimeout = publishTimeout
    }
}
