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
    ///
    /// With `rows: false`, `before`, `after` and `changes` are checked exactly as they would be
    /// read (the same messages are rejected, with the same errors) but not built: they are nil in
    /// the result. For consumers that read only the envelope (a worker whose conditions and
    /// templates never look at the rows).
    public static func decode(_ bytes: [UInt8], rows: Bool = true) throws(EventDecodingError) -> EntityEvent {
        let parsed: EventFields?
        do {
            parsed = try bytes.withUnsafeBufferPointer { buffer throws(FastJSON.ParseError) in
                try EventFields.parse(buffer, rows: rows)
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
        var before = try row("before")
        var after = try row("after")
        if !rows {  // checked above; an omitted row parsed as an empty object
            before = nil
            after = nil
            changes = nil
        }
        return EntityEvent(
            id: id, cursor: cursor, source: try string("source"), entityType: try string("entity_type"),
            entityId: try string("entity_id"), operation: operation, before: before, after: after,
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
    /// - Parameter rows: false to step over `before`, `after` and `changes` without building them
    ///   when they have the right shape (they then read as empty objects); any other value is
    ///   read as usual, so that the decoder reports it.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, rows: Bool) throws(FastJSON.ParseError) -> EventFields? {
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
                if !rows, let slot = Self.slot(key), (6...8).contains(slot),
                    try parser.skipObject(ofObjects: slot == 8)
                {
                    fields.values[slot] = .object([:])
                } else {
                    fields[key] = try parser.value()
                }
                if try parser.more(orClose: UInt8(ascii: "}")) { continue }
                break
            }
        }
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw FastJSON.ParseError(offset: parser.index) }
        return fields
    }
}

extension FastJSON.Parser {
    /// Steps over an object (whose members must all be objects when `ofObjects`) as ``value()``
    /// would read it, without building it. Returns false, having read nothing, for any other
    /// value, and for an object with a member of another kind: the caller then reads it.
    fileprivate mutating func skipObject(ofObjects: Bool) throws(FastJSON.ParseError) -> Bool {
        skipWhitespace()
        let start = index
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return false }
        guard ofObjects else {
            try skipValue()
            return true
        }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return true
        }
        while true {
            skipWhitespace()
            try skipString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else {
                index = start
                return false
            }
            try skipValue()
            if try more(orClose: UInt8(ascii: "}")) { continue }
            return true
        }
    }
}
