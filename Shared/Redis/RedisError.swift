/// An error from the Redis client.
public struct RedisError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// Could not connect, or the connection was lost with the command in flight.
        case connection
        /// No reply within the command timeout (the connection is then closed and re-opened).
        case timeout
        /// The server answered with an error reply (`WRONGTYPE …`, `NOSCRIPT …`).
        case server
        /// The bytes received were not valid RESP.
        case protocolError
        /// The reply did not have the expected shape.
        case unexpectedReply
        /// The client was shut down.
        case closed
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "Redis \(code.rawValue): \(message)" }
}
