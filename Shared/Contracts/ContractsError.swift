import Foundation

/// Every error of the wire types: what kind (`code`), what was wrong (`description`), and where
/// (the byte offset in JSON, the event id once it was read, the offending name).
public struct ContractsError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// An entity name that cannot be a NATS subject token; `value` is the name.
        case invalidEntity
        /// A subject prefix that is not dot-separated tokens; `value` is the prefix.
        case invalidPrefix
        /// Bytes that are not JSON, or JSON nested too deep; `offset` says where.
        case invalidJSON
        /// JSON that is not an event (a missing key, a wrong type); `eventId` when it was read.
        case malformedEvent
    }

    public var code: Code
    public var description: String
    /// The name or prefix refused.
    public var value: String?
    /// Where in the JSON text the parser stopped.
    public var offset: Int?
    /// The event id, when the message got that far.
    public var eventId: UUID?

    public init(
        code: Code, description: String, value: String? = nil, offset: Int? = nil, eventId: UUID? = nil
    ) {
        self.code = code
        self.description = description
        self.value = value
        self.offset = offset
        self.eventId = eventId
    }

    /// The same text as ``description``: what the dead-letter records keep as the reason.
    public var message: String { description }

    static func invalidEntity(_ name: String) -> ContractsError {
        ContractsError(
            code: .invalidEntity,
            description:
                "entity name '\(name)' cannot be a NATS subject token: use only letters, digits, '_' and '-'",
            value: name)
    }

    static func invalidPrefix(_ prefix: String) -> ContractsError {
        ContractsError(
            code: .invalidPrefix,
            description:
                "subject prefix '\(prefix)' is invalid: dot-separated non-empty tokens without '*', '>' or spaces",
            value: prefix)
    }

    /// Bad syntax at `offset`, or `reason` (too deeply nested) there.
    static func invalidJSON(offset: Int, reason: String? = nil) -> ContractsError {
        ContractsError(
            code: .invalidJSON,
            description: reason.map { "\($0) at byte \(offset)" } ?? "invalid JSON at byte \(offset)", offset: offset)
    }

    static func malformedEvent(_ message: String, eventId: UUID? = nil) -> ContractsError {
        ContractsError(code: .malformedEvent, description: message, eventId: eventId)
    }
}
