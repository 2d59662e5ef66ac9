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
    var id, cursor, source, entityType, entityId, operation, before, after, changes: JSONValue?
    var tenantId, occurredAt, schemaVersion, traceParent: JSONValue?

    subscript(key: String) -> JSONValue? {
        get {
            switch key {
            case "id": id
            case "cursor": cursor
            case "source": source
            case "entity_type": entityType
            case "entity_id": entityId
            case "operation": operation
            case "before": before
            case "after": after
            case "changes": changes
            case "tenant_id": tenantId
            case "occurred_at": occurredAt
            case "schema_version": schemaVersion
            case "trace_parent": traceParent
            default: nil
            }
        }
        set {
            switch key {
            case "id": id = newValue
            case "cursor": cursor = newValue
            case "source": source = newValue
            case "entity_type": entityType = newValue
            case "entity_id": entityId = newValue
            case "operation": operation = newValue
            case "before": before = newValue
            case "after": after = newValue
            case "changes": changes = newValue
            case "tenant_id": tenantId = newValue
            case "occurred_at": occurredAt = newValue
            case "schema_version": schemaVersion = newValue
            case "trace_parent": traceParent = newValue
            default: break
            }
        }
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
