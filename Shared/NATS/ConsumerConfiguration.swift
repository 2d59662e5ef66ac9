import Contracts

/// A durable pull consumer's configuration.
public struct ConsumerConfiguration: Sendable, Hashable {
    public enum DeliverPolicy: Sendable, Hashable {
        case all
        case new
        case startSequence(UInt64)
        /// Nanoseconds since the Unix epoch.
        case startTime(nanosecondsSinceEpoch: Int64)
    }

    public var durableName: String
    public var filterSubject: String?
    public var deliverPolicy: DeliverPolicy
    public var ackWait: Duration
    /// -1: unlimited.
    public var maxDeliver: Int
    /// Redelivery delays used by the server when an ack times out.
    public var backoff: [Duration]
    /// -1: server default.
    public var maxAckPending: Int

    public init(
        durableName: String, filterSubject: String? = nil, deliverPolicy: DeliverPolicy = .all,
        ackWait: Duration = .seconds(30), maxDeliver: Int = -1, backoff: [Duration] = [], maxAckPending: Int = -1
    ) {
        self.durableName = durableName
        self.filterSubject = filterSubject
        self.deliverPolicy = deliverPolicy
        self.ackWait = ackWait
        self.maxDeliver = maxDeliver
        self.backoff = backoff
        self.maxAckPending = maxAckPending
    }
}
