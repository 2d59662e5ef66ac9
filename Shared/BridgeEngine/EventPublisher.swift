import NATS

/// Where the engine publishes: JetStream in the fleet, a recording publisher in tests.
public protocol EventPublisher: Sendable {
    /// The largest message the server takes (headers included); 0: unknown.
    var maxPayload: Int { get }
    /// Publishes the messages in order, waiting up to `timeout` for each acknowledgement; one
    /// result per message. The server drops a message whose `Nats-Msg-Id` it has already stored
    /// within its duplicate window (acknowledged as a duplicate).
    func publish(_ messages: [OutgoingMessage], timeout: Duration) async throws -> [Result<PubAck, any Error>]
}

extension JetStream: EventPublisher {
    public var maxPayload: Int { connection.maxPayload }

    public func publish(_ messages: [OutgoingMessage], timeout: Duration) async throws
        -> [Result<PubAck, any Error>]
    {
        try await publishBatch(messages, timeout: timeout).map { $0.mapError { $0 } }
    }
}
