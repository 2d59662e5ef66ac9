import Contracts

/// One change-log row as the fleet reads it: the fields a reader needs without parsing JSON, and
/// the event's wire JSON (``EntityEvent``) built from the row's text without parsing the row
/// images. The one decoder of change-log rows: pg-bridge's batch reads and the `postgres`
/// observer transport's claims both select ``ChangeLogRow/lineSQL`` and decode it here.
public struct ChangeLogRow: Sendable {
    /// The change-log id (the event's `cursor`).
    public var id: Int64
    /// The event id as lower-case UUID text.
    public var eventID: String
    public var entityType: String
    public var operation: Operation
    /// The wire JSON of the event.
    public var payload: [UInt8]
    /// The `postgres` transport's attempts so far (0 for the bridge's reads).
    public var attempts: Int64 = 0

    /// The event, decoded from ``payload``.
    public func event() throws -> EntityEvent { try EntityEvent.decode(payload) }

    /// One row as one line of text: `id, event_id, operation, occurred_at µs, entity_type,
    /// entity_id, tenant_id, before, after, changes`, tab-separated; the last six are JSON. Tabs
    /// and newlines cannot occur inside the fields: the strings are JSON-escaped and `jsonb` text
    /// escapes control characters. Selected over a relation with the change log's columns; many
    /// rows come back as one text value (`string_agg(…, E'\n')`): streaming rows through
    /// PostgresNIO's row decoder cost ~100 µs per row.
    static let lineSQL = """
        concat_ws(E'\\t', id, event_id, operation, (extract(epoch FROM occurred_at) * 1000000)::int8,
                  to_json(entity_type), to_json(entity_id), COALESCE(to_json(tenant_id)::text, 'null'),
                  COALESCE(before::text, 'null'), COALESCE(after::text, 'null'), COALESCE(changes::text, 'null'))
        """

    /// Decodes the lines of `bytes` (separated by `\n`), each ``lineSQL`` followed by
    /// `extraFields` integer fields (the claim's attempts), into rows of the event source
    /// `quotedSource` (the transport name as JSON). A malformed line is handed to `malformed`
    /// (``ChangeLogError/Code/malformedRow``) with its text, and skipped.
    static func decodeLines(
        _ bytes: UnsafeBufferPointer<UInt8>, quotedSource: [UInt8], extraFields: Int = 0,
        malformed: (ChangeLogError, _ line: UnsafeBufferPointer<UInt8>) throws -> Void = { error, _ in throw error }
    ) rethrows -> [ChangeLogRow] {
        var rows: [ChangeLogRow] = []
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd])
            switch decode(line, quotedSource: quotedSource, extraFields: extraFields) {
            case .success(let row): rows.append(row)
            case .failure(let error): try malformed(error, line)
            }
            lineStart = lineEnd + 1
        }
        return rows
    }

    /// One line. The payload has sorted keys and omits absent fields, as ``FastJSON/encode(_:)``
    /// writes an ``EntityEvent``; `before`, `after` and `changes` keep PostgreSQL's key order and
    /// exact numbers.
    static func decode(_ line: UnsafeBufferPointer<UInt8>, quotedSource: [UInt8], extraFields: Int)
        -> Result<ChangeLogRow, ChangeLogError>
    {
        var fields: [UnsafeBufferPointer<UInt8>] = []
        fields.reserveCapacity(10 + extraFields)
        var start = 0
        for index in 0..<line.count where line[index] == UInt8(ascii: "\t") {
            fields.append(UnsafeBufferPointer(rebasing: line[start..<index]))
            start = index + 1
        }
        fields.append(UnsafeBufferPointer(rebasing: line[start...]))
        func integer(_ field: UnsafeBufferPointer<UInt8>) -> Int64? {
            if case .int(let value)? = try? FastJSON.parse(field) { value } else { nil }
        }
        let id = fields.first.flatMap(integer)
        func malformed() -> Result<ChangeLogRow, ChangeLogError> {
            .failure(
                ChangeLogError(
                    .malformedRow, "malformed change-log row: \(String(decoding: line.prefix(200), as: UTF8.self))",
                    changeID: id))
        }
        guard fields.count == 10 + extraFields, let id, fields[1].count == 36,
            let operation = Operation(rawValue: String(decoding: fields[2], as: UTF8.self)),
            let micros = integer(fields[3]),
            case .string(let entityType)? = try? FastJSON.parse(fields[4])
        else { return malformed() }
        var attempts: Int64 = 0
        if extraFields > 0 {
            guard let value = integer(fields[10]) else { return malformed() }
            attempts = value
        }
        func isNull(_ field: UnsafeBufferPointer<UInt8>) -> Bool { field.elementsEqual("null".utf8) }
        var payload: [UInt8] = []
        payload.reserveCapacity(line.count + 160)
        payload.append(UInt8(ascii: "{"))
        func object(_ key: String, _ field: UnsafeBufferPointer<UInt8>) {
            guard !isNull(field) else { return }
            payload.append(contentsOf: key.utf8)
            FastJSON.appendCompact(field, to: &payload)
            payload.append(UInt8(ascii: ","))
        }
        object("\"after\":", fields[8])
        object("\"before\":", fields[7])
        object("\"changes\":", fields[9])
        payload.append(contentsOf: "\"cursor\":".utf8)
        payload.append(contentsOf: fields[0])
        payload.append(contentsOf: ",\"entity_id\":".utf8)
        payload.append(contentsOf: fields[5])
        payload.append(contentsOf: ",\"entity_type\":".utf8)
        payload.append(contentsOf: fields[4])
        payload.append(contentsOf: ",\"id\":\"".utf8)
        payload.append(contentsOf: fields[1])
        payload.append(contentsOf: "\",\"occurred_at\":\"".utf8)
        Timestamp(microsecondsSinceEpoch: micros).appendRFC3339(to: &payload)
        payload.append(contentsOf: "\",\"operation\":\"".utf8)
        payload.append(contentsOf: fields[2])
        payload.append(contentsOf: "\",\"schema_version\":\(WireFormat.entityEventSchemaVersion),\"source\":".utf8)
        payload.append(contentsOf: quotedSource)
        if !isNull(fields[6]) {
            payload.append(contentsOf: ",\"tenant_id\":".utf8)
            payload.append(contentsOf: fields[6])
        }
        payload.append(UInt8(ascii: "}"))
        return .success(
            ChangeLogRow(
                id: id, eventID: String(decoding: fields[1], as: UTF8.self), entityType: entityType,
                operation: operation, payload: payload, attempts: attempts))
    }
}
