import Foundation

extension EntityEvent {
    /// Decodes the wire JSON through ``FastJSON`` (the workers' hot path), with errors that name
    /// the offending key. Accepts exactly what `WireFormat`/`JSONDecoder` accept for this type.
    ///
    /// With `rows: false`, `before`, `after` and `changes` are checked exactly as they would be
    /// read (the same messages are rejected, with the same errors) but not built: they are nil in
    /// the result. For consumers that read only the envelope (a worker whose conditions and
    /// templates never look at the rows).
    public static func decode(_ bytes: [UInt8], rows: Bool = true) throws(ContractsError) -> EntityEvent {
        try decode(fields: try fields(bytes, rows: rows), rows: rows)
    }

    /// Where `before`, `after` and `changes` are in an event's bytes (nil when absent or null).
    public struct RowRanges: Sendable, Equatable {
        public var before: Range<Int>?
        public var after: Range<Int>?
        public var changes: Range<Int>?
    }

    /// Decodes the envelope as `decode(_:rows: false)` does (the rows checked, not built) and
    /// says where the rows' JSON text is in `bytes`: for a reader that passes them on as text
    /// (flight-server's JSON columns) without parsing and writing them again.
    public static func decodeEnvelope(_ bytes: [UInt8]) throws(ContractsError) -> (event: EntityEvent, rows: RowRanges)
    {
        let fields = try fields(bytes, rows: false)
        let event = try decode(fields: fields, rows: false)
        return (event, fields.rowRanges)
    }

    private static func fields(_ bytes: [UInt8], rows: Bool) throws(ContractsError) -> EventFields {
        let parsed: EventFields?
        do {
            parsed = try bytes.withUnsafeBufferPointer { buffer throws(ContractsError) in
                try EventFields.parse(buffer, rows: rows)
            }
        } catch {
            throw .malformedEvent("not JSON (\(error))")
        }
        guard let fields = parsed else { throw .malformedEvent("not a JSON object") }
        return fields
    }

    private static func decode(fields: EventFields, rows: Bool) throws(ContractsError) -> EntityEvent {
        var eventId: UUID?
        func fail(_ message: String) -> ContractsError { .malformedEvent(message, eventId: eventId) }
        func string(_ field: EventFields.Field) throws(ContractsError) -> String {
            guard let value = fields[field] else { throw fail("missing key '\(field.key)'") }
            guard case .string(let text) = value else { throw fail("'\(field.key)' must be a string") }
            return text
        }
        func optionalString(_ field: EventFields.Field) throws(ContractsError) -> String? {
            switch fields[field] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            default: throw fail("'\(field.key)' must be a string or null")
            }
        }
        func row(_ field: EventFields.Field) throws(ContractsError) -> [String: JSONValue]? {
            switch fields[field] {
            case nil, .null?: return nil
            case .object(let row)?: return row
            default: throw fail("'\(field.key)' must be an object or null")
            }
        }
        guard let id = UUID(text: try string(.id)) else { throw fail("'id' is not a UUID") }
        eventId = id
        guard case .int(let cursor)? = fields[.cursor] else { throw fail("'cursor' must be an integer") }
        guard let operation = Operation(rawValue: try string(.operation)) else {
            throw fail("'operation' must be insert, update or delete")
        }
        guard let occurredAt = Timestamp(rfc3339: try string(.occurredAt)) else {
            throw fail("'occurred_at' is not an RFC 3339 time")
        }
        var changes: [String: FieldChange]?
        switch fields[.changes] {
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
        func imagesOmitted() throws(ContractsError) -> Bool? {
            switch fields[.imagesOmitted] {
            case nil, .null?: return nil
            case .bool(let flag)?: return flag
            default: throw fail("'images_omitted' must be a boolean or null")
            }
        }
        var schemaVersion = WireFormat.entityEventSchemaVersion
        if let version = fields[.schemaVersion] {
            guard case .int(let number) = version else { throw fail("'schema_version' must be an integer") }
            schemaVersion = Int(number)
        }
        var before = try row(.before)
        var after = try row(.after)
        if !rows {  // checked above; an omitted row parsed as an empty object
            before = nil
            after = nil
            changes = nil
        }
        return EntityEvent(
            id: id, cursor: cursor, source: try string(.source), entityType: try string(.entityType),
            entityId: try string(.entityId), operation: operation, before: before, after: after,
            changes: changes, tenantId: try optionalString(.tenantId), occurredAt: occurredAt,
            schemaVersion: schemaVersion, traceParent: try optionalString(.traceParent),
            imagesOmitted: try imagesOmitted())
    }
}

/// The members of an event's top-level object, read straight into fields (no dictionary of the
/// whole message). Unknown keys are parsed and dropped; a repeated key keeps its last value.
private struct EventFields {
    typealias Field = EventFieldKey

    private var values = [JSONValue?](repeating: nil, count: Field.allCases.count)
    /// Where the rows stepped over (`rows: false`) are in the bytes.
    var rowRanges = EntityEvent.RowRanges()

    subscript(field: Field) -> JSONValue? {
        get { values[field.rawValue] }
        set { values[field.rawValue] = newValue }
    }

    /// The fields of a JSON object; nil when the text is JSON but not an object.
    /// - Parameter rows: false to step over `before`, `after` and `changes` without building them
    ///   when they have the right shape (they then read as empty objects); any other value is
    ///   read as usual, so that the decoder reports it.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, rows: Bool) throws(ContractsError) -> EventFields? {
        var parser = FastJSON.Parser(bytes: bytes)
        parser.skipWhitespace()
        guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "{") else {
            _ = try FastJSON.parse(bytes)  // throws if it is not JSON at all
            return nil
        }
        parser.index += 1
        parser.depth = 1
        var fields = EventFields()
        parser.skipWhitespace()
        if parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "}") {
            parser.index += 1
        } else {
            while true {
                parser.skipWhitespace()
                let field = try parser.eventField()
                parser.skipWhitespace()
                try parser.expect(UInt8(ascii: ":"))
                guard let field else {
                    _ = try parser.value()  // read as any other value (same errors), not kept
                    if try parser.more(orClose: UInt8(ascii: "}")) { continue }
                    break
                }
                parser.skipWhitespace()
                let start = parser.index
                if !rows, field.isRow, try parser.skipObject(ofObjects: field == .changes) {
                    fields[field] = .object([:])
                    switch field {
                    case .before: fields.rowRanges.before = start..<parser.index
                    case .after: fields.rowRanges.after = start..<parser.index
                    default: fields.rowRanges.changes = start..<parser.index
                    }
                } else {
                    switch field {  // a repeated key: the last value counts
                    case .before: fields.rowRanges.before = nil
                    case .after: fields.rowRanges.after = nil
                    case .changes: fields.rowRanges.changes = nil
                    default: break
                    }
                    fields[field] = try parser.value()
                }
                if try parser.more(orClose: UInt8(ascii: "}")) { continue }
                break
            }
        }
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw .invalidJSON(offset: parser.index) }
        return fields
    }
}

extension FastJSON.Parser {
    /// Reads an object key: its field, or nil for a key the decoder does not read. Keys with
    /// escapes are decoded first (`"\u0069d"` is `id`).
    fileprivate mutating func eventField() throws(ContractsError) -> EventFields.Field? {
        let start = index
        try skipString()
        let raw = UnsafeBufferPointer(rebasing: bytes[(start + 1)..<(index - 1)])
        guard raw.contains(UInt8(ascii: "\\")) else { return EventFields.Field(raw) }
        index = start
        let key = Array(try string().utf8)
        return key.withUnsafeBufferPointer { EventFields.Field($0) }
    }

    /// Steps over an object (whose members must all be objects when `ofObjects`) as ``value()``
    /// would read it, without building it. Returns false, having read nothing, for any other
    /// value, and for an object with a member of another kind: the caller then reads it.
    mutating func skipObject(ofObjects: Bool) throws(ContractsError) -> Bool {
        skipWhitespace()
        let start = index
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return false }
        guard ofObjects else {
            try skipValue()
            return true
        }
        try descend()
        defer { depth -= 1 }
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
