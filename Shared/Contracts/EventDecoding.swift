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
        let parsed: EventFields?
        do {
            parsed = try bytes.withUnsafeBufferPointer { buffer throws(FastJSON.ParseError) in
                try EventFields.parse(buffer)
            }
        } catch {
            throw EventDecodingError(message: "not JSON (\(error))")
        }
        guard let fields = parsed else { throw EventDecodingError(message: "not a JSON object") }
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

/// The members of an event's top-level object, read straight into fields (no dictionary of the
/// whole message). Unknown keys are parsed and dropped; a repeated key keeps its last value.
private struct EventFields {
    private var values = [JSONValue?](repeating: nil, count: 13)

    /// The slot of each key the decoder reads; nil for any other key.
    private static func slot(_ key: String) -> Int? {
        switch key {
        case "id": 0
        case "cursor": 1
        case "source": 2
        case "entity_type": 3
        case "entity_id": 4
        case "operation": 5
        case "before": 6
        case "after": 7
        case "changes": 8
        case "tenant_id": 9
        case "occurred_at": 10
        case "schema_version": 11
        case "trace_parent": 12
        default: nil
        }
    }

    subscript(key: String) -> JSONValue? {
        get { Self.slot(key).flatMap { values[$0] } }
        set { if let slot = Self.slot(key) { values[slot] = newValue } }
    }

    /// The fields of a JSON object; nil when the text is JSON but not an object.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(FastJSON.ParseError) -> EventFields? {
        var parser = FastJSON.Parser(bytes: bytes)
        parser.skipWhitespace()
        guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "{") else {
            _ = try FastJSON.parse(bytes)  // throws if it is not JSON at all
            return nil
        }
        parser.index += 1
        var fields = EventFields()
        parser.skipWhitespace()
        if parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "}") {
            parser.index += 1
        } else {
            while true {
                parser.skipWhitespace()
                let key = try parser.string()
                parser.skipWhitespace()
                try parser.expect(UInt8(ascii: ":"))
                fields[key] = try parser.value()
                parser.skipWhitespace()
                guard parser.index < bytes.count else { throw FastJSON.ParseError(offset: parser.index) }
                if bytes[parser.index] == UInt8(ascii: ",") {
                    parser.index += 1
                    continue
                }
                try parser.expect(UInt8(ascii: "}"))
                break
            }
        }
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw FastJSON.ParseError(offset: parser.index) }
        return fields
    }
}
