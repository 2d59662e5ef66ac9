import Contracts

/// A message to publish to JetStream.
public struct OutgoingMessage: Sendable {
    public var subject: String
    public var payload: [UInt8]
    /// Header name/value pairs (set in order; a later value of the same name replaces an earlier one).
    /// The message id is one of them (`EventHeaders.messageId`, `Nats-Msg-Id`): the stream stores
    /// a given id once within its duplicate window.
    public var headers: [(String, String)]

    /// - Parameter messageId: appended to `headers` as `Nats-Msg-Id`.
    public init(subject: String, payload: [UInt8], headers: [(String, String)] = [], messageId: String? = nil) {
        self.subject = subject
        self.payload = payload
        self.headers = headers
        if let messageId { self.headers.append((EventHeaders.messageId, messageId)) }
    }
}
