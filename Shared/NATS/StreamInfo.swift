import Contracts

public struct StreamInfo: Sendable, Hashable {
    public var name: String
    public var subjects: [String]
    public var messages: UInt64
    public var bytes: UInt64
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    public var consumerCount: Int64
    public var duplicateWindow: Duration
    public var maxAge: Duration
    public var replicas: Int
    /// The stream's limits; -1 when unlimited.
    public var maxBytes: Int64 = -1
    public var maxMessages: Int64 = -1
}
