import Foundation

/// Why a message is not an ``EntityEvent``: the dead-letter reason's text.
public struct EventDecodingError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The event id, when the message got that far.
    public var eventId: UUID?
    public var description: String { message }
}

extension EntityEvent {
    /// Decodes the wire JSON through ``FastJSON`` (the workers' hot path), with errors that name
    /// the offending key. Accepts exactly what `WireFormat`/`JSONDecoder` accept for this type.
    public static func decode(_ bytes: [UInt8]) throws(EventDecodingError) -> EntityEvent {
        let value: JSONValue
        do {
            value = try bytes.withUnsafeBufferPointer { buffer throws(FastJSON.ParseError) in
                try FastJSON.parse(buffer)
            }
        } catch {
            throw EventDecodingError(message: "not JSON (\(error))")
        }
        guard case .object(let fields) = value else {
            throw EventDecodingError(message: "not a JSON object")
        }
        var eventId: UUID?
        func fail(_ message: String) -> EventDecodingError { EventDecodingError(message: message, eventId: eventId) }
        func string(_ key: String) throws(EventDecodingError) -> String {
            guard let value = fields[key] else { throw fail("missing key '\(key)'") }
            guard case .string(let text) = value else { throw fail("'\(key)' must be a string") }
            return text
        }
        func optionalString(_ key: String) throws(EventDecodingError) -> String? {
            switch fields[key] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            default: throw fail("'\(key)' must be a string or null")
            }
        }
        func row(_ key: String) throws(EventDecodingError) -> [String: JSONValue]? {
            switch fields[key] {
            case nil, .null?: return nil
            case .object(let row)?: return row
            default: throw fail("'\(key)' must be an object or null")
            }
        }
        guard let id = UUID(text: try string("id")) else { throw fail("'id' is not a UUID") }
        eventId = id
        guard case .int(let cursor)? = fields["cursor"] else { throw fail("'cursor' must be an integer") }
        guard let operation = Operation(rawValue: try string("operation")) else {
            throw fail("'operation' must be insert, update or delete")
        }
        guard let occurredAt = Timestamp(rfc3339: try string("occurred_at")) else {
            throw fail("'occurred_at' is not an RFC 3339 time")
        }
        var changes: [String: FieldChange]?
        switch fields["changes"] {
        case nil, .null?: changes = nil
        case .object(let items)?:
            var decoded: [String: FieldChange] = [:]
            for (name, item) in items {
                guard case .object(let pair) = item else { throw fail("'changes.\(name)' must be an object") }
                decoded[name] = FieldChange(old: pair["old"] ?? .null, new: pair["new"] ?? .null)
            }
            changes = decoded
        default: throw fail("'changes' must be an object or null")
        }
        var schemaVersion = WireFormat.entityEventSchemaVersion
        if let version = fields["schema_version"] {
            guard case .int(let number) = version else { throw fail("'schema_version' must be an integer") }
            schemaVersion = Int(number)
        }
        return EntityEvent(
            id: id, cursor: cursor, source: try string("source"), entityType: try string("entity_type"),
            entityId: try string("entity_id"), operation: operation, before: try row("before"), after: try row("after"),
            changes: changes, tenantId: try optionalString("tenant_id"), occurredAt: occurredAt,
            schemaVersion: schemaVersion, traceParent: try optionalString("trace_parent"))
    }
}
