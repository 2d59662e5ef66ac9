/// Subject naming: `<prefix>.<entity>.<op>`, with every token validated so a bridge never
/// publishes a malformed subject.
public struct SubjectNamer: Hashable, Sendable {
    public static let defaultPrefix = "entity.change"

    public let prefix: String

    /// - Throws: ``ContractsError`` when the prefix is empty, has an empty token, a wildcard or whitespace.
    public init(prefix: String = SubjectNamer.defaultPrefix) throws(ContractsError) {
        let tokens = prefix.split(separator: ".", omittingEmptySubsequences: false)
        guard !prefix.isEmpty,
            tokens.allSatisfy({ token in
                !token.isEmpty && !token.contains { $0 == "*" || $0 == ">" || $0.isWhitespace }
            })
        else { throw .invalidPrefix(prefix) }
        self.prefix = prefix
    }

    /// The entity token: the entity type lower-cased; only `[a-z0-9_-]` is accepted.
    public static func entityToken(_ entityType: String) throws(ContractsError) -> String {
        let token = entityType.lowercased()
        guard !token.isEmpty,
            token.utf8.allSatisfy({ byte in
                (97...122).contains(byte) || (48...57).contains(byte) || byte == 95 || byte == 45
            })
        else { throw .invalidEntity(entityType) }
        return token
    }

    /// `entity.change.order.update`.
    public func subject(entityType: String, operation: Operation) throws(ContractsError) -> String {
        "\(prefix).\(try Self.entityToken(entityType)).\(operation.rawValue)"
    }

    /// A filter subject: every event (`entity.change.>`), one entity (`entity.change.order.*`), or
    /// one entity and operation.
    public func filter(entityType: String? = nil, operation: Operation? = nil) throws(ContractsError) -> String {
        guard let entityType else {
            return operation.map { "\(prefix).*.\($0.rawValue)" } ?? "\(prefix).>"
        }
        return "\(prefix).\(try Self.entityToken(entityType)).\(operation?.rawValue ?? "*")"
    }
}

/// NATS headers the fleet sets on every event.
public enum EventHeaders {
    public static let messageId = "Nats-Msg-Id"
    public static let source = "Fraiseql-Source"
    public static let cursor = "Fraiseql-Cursor"
    public static let traceParent = "traceparent"

    /// The headers for an event, in a stable order.
    public static func headers(for event: EntityEvent) -> [(String, String)] {
        headers(
            eventID: event.id.lowercasedString, source: event.source, cursor: event.cursor,
            traceParent: event.traceParent)
    }

    /// The headers from an event's fields; `eventID` is the id as lower-case UUID text.
    public static func headers(eventID: String, source: String, cursor: Int64, traceParent: String?) -> [(
        String, String
    )] {
        var headers = [(messageId, eventID), (Self.source, source), (Self.cursor, String(cursor))]
        if let traceParent { headers.append((Self.traceParent, traceParent)) }
        return headers
    }
}
