import Contracts

public struct ConsumerInfo: Sendable, Hashable {
    public var stream: String
    public var name: String
    /// Messages not yet delivered to the consumer.
    public var pending: UInt64
    /// Delivered but not yet acknowledged.
    public var ackPending: Int64
    public var redelivered: Int64
    public var deliveredStreamSequence: UInt64
    public var ackFloorStreamSequence: UInt64
}
