import Contracts

/// The server's acknowledgement that a message is stored.
public struct PubAck: Hashable, Sendable {
    public var stream: String
    public var sequence: UInt64
    /// The message id was seen within the duplicate window: the message was not stored again.
    public var duplicate: Bool

    public init(stream: String, sequence: UInt64, duplicate: Bool) {
        self.stream = stream
        self.sequence = sequence
        self.duplicate = duplicate
    }
}
