import ArrowIPC
import Contracts
import Foundation

/// Events as Arrow columns: one column per `EntityEvent` field, plus the stream sequence.
/// `source`, `entity_type` and `operation` are dictionary-encoded; `before`, `after` and
/// `changes` are JSON text (Arrow's `arrow.json` extension type); `id` is an `arrow.uuid`.
struct EventBatchBuilder: Sendable {
    static let schema = ArrowSchema(
        [
            ArrowField("id", .fixedSizeBinary(byteWidth: 16), nullable: false).extensionType("arrow.uuid"),
            ArrowField("stream_sequence", .int64, nullable: false),
            ArrowField("cursor", .int64, nullable: false),
            ArrowField("source", .utf8, nullable: false, dictionary: .init(id: 0)),
            ArrowField("entity_type", .utf8, nullable: false, dictionary: .init(id: 1)),
            ArrowField("entity_id", .utf8, nullable: false),
            ArrowField("operation", .utf8, nullable: false, dictionary: .init(id: 2)),
            ArrowField("before", .utf8).extensionType("arrow.json"),
            ArrowField("after", .utf8).extensionType("arrow.json"),
            ArrowField("changes", .utf8).extensionType("arrow.json"),
            ArrowField("tenant_id", .utf8),
            ArrowField("occurred_at", .timestampMicroseconds(timezone: "UTC"), nullable: false),
            ArrowField("schema_version", .int32, nullable: false),
            ArrowField("trace_parent", .utf8),
            ArrowField("images_omitted", .bool),
        ], metadata: [.init("fraiseql:kind", "events")])

    private var id = FixedSizeBinaryColumn(byteWidth: 16)
    private var sequence = PrimitiveColumn<Int64>()
    private var cursor = PrimitiveColumn<Int64>()
    private var source = DictionaryColumn()
    private var entityType = DictionaryColumn()
    private var entityId = UTF8Column()
    private var operation = DictionaryColumn()
    private var before = UTF8Column()
    private var after = UTF8Column()
    private var changes = UTF8Column()
    private var tenant = UTF8Column()
    private var occurredAt = PrimitiveColumn<Int64>()
    private var schemaVersion = PrimitiveColumn<Int32>()
    private var traceParent = UTF8Column()
    private var imagesOmitted = BoolColumn()
    private var json: [UInt8] = []

    var count: Int { sequence.count }
    /// Bytes of text held for the batch being built.
    var textBytes: Int { before.byteCount + after.byteCount + changes.byteCount + entityId.byteCount }

    /// An event as decoded by `EntityEvent.decodeEnvelope`: its rows are copied from `payload`
    /// as the JSON text they are.
    mutating func append(
        _ event: EntityEvent, rows: EntityEvent.RowRanges, payload: [UInt8], sequence streamSequence: UInt64
    ) {
        appendEnvelope(event, sequence: streamSequence)
        if let range = rows.before { before.append(bytes: payload[range]) } else { before.appendNull() }
        if let range = rows.after { after.append(bytes: payload[range]) } else { after.appendNull() }
        if let range = rows.changes { changes.append(bytes: payload[range]) } else { changes.appendNull() }
        finishRow(event)
    }

    /// An event read by ``EventLayout``: every text column is copied from `payload` as it is.
    mutating func append(_ event: EventLayout, payload: UnsafeBufferPointer<UInt8>, sequence streamSequence: UInt64) {
        withUnsafeBytes(of: event.id.uuid) { id.append($0) }
        sequence.append(Int64(truncatingIfNeeded: streamSequence))
        cursor.append(event.cursor)
        source.append(utf8: UnsafeBufferPointer(rebasing: payload[event.source]))
        entityType.append(utf8: UnsafeBufferPointer(rebasing: payload[event.entityType]))
        entityId.append(bytes: payload[event.entityId])
        operation.append(event.operation.rawValue)
        Self.appendText(&before, event.rows.before, payload)
        Self.appendText(&after, event.rows.after, payload)
        Self.appendText(&changes, event.rows.changes, payload)
        Self.appendText(&tenant, event.tenantId, payload)
        occurredAt.append(event.occurredAt.microsecondsSinceEpoch)
        schemaVersion.append(Int32(clamping: event.schemaVersion))
        Self.appendText(&traceParent, event.traceParent, payload)
        imagesOmitted.append(event.imagesOmitted)
    }

    /// An event whose rows are built values (re-encoded as JSON).
    mutating func append(_ event: EntityEvent, sequence streamSequence: UInt64) {
        appendEnvelope(event, sequence: streamSequence)
        Self.appendJSON(&before, &json, event.before.map { row in { FastJSON.appendObject(row, to: &$0) } })
        Self.appendJSON(&after, &json, event.after.map { row in { FastJSON.appendObject(row, to: &$0) } })
        Self.appendJSON(&changes, &json, event.changes.map { row in { FastJSON.appendChanges(row, to: &$0) } })
        finishRow(event)
    }

    private mutating func appendEnvelope(_ event: EntityEvent, sequence streamSequence: UInt64) {
        withUnsafeBytes(of: event.id.uuid) { id.append($0) }
        sequence.append(Int64(truncatingIfNeeded: streamSequence))
        cursor.append(event.cursor)
        source.append(event.source)
        entityType.append(event.entityType)
        entityId.append(event.entityId)
        operation.append(event.operation.rawValue)
    }

    private mutating func finishRow(_ event: EntityEvent) {
        tenant.append(event.tenantId)
        occurredAt.append(event.occurredAt.microsecondsSinceEpoch)
        schemaVersion.append(Int32(clamping: event.schemaVersion))
        traceParent.append(event.traceParent)
        imagesOmitted.append(event.imagesOmitted)
    }

    private static func appendText(
        _ column: inout UTF8Column, _ range: Range<Int>?, _ payload: UnsafeBufferPointer<UInt8>
    ) {
        if let range { column.append(bytes: payload[range]) } else { column.appendNull() }
    }

    private static func appendJSON(
        _ column: inout UTF8Column, _ scratch: inout [UInt8], _ write: ((inout [UInt8]) -> Void)?
    ) {
        guard let write else { return column.appendNull() }
        scratch.removeAll(keepingCapacity: true)
        write(&scratch)
        column.append(bytes: scratch)
    }

    /// The dictionary batches the next record batch needs, then the record batch; the columns
    /// start empty again (the dictionaries are kept, later batches send only new values).
    mutating func finish(_ encoder: ArrowStreamEncoder) throws -> [ArrowMessage] {
        var messages: [ArrowMessage] = []
        let deltas = [
            (Int64(0), source.takeDictionaryDelta()), (1, entityType.takeDictionaryDelta()),
            (2, operation.takeDictionaryDelta()),
        ]
        for (dictionary, delta) in deltas {
            if let delta {
                messages.append(
                    try encoder.dictionaryBatch(id: dictionary, values: delta.values, isDelta: delta.isDelta))
            }
        }
        let length = count
        let columns = [
            id.finish(), sequence.finish(), cursor.finish(), source.finish(), entityType.finish(), entityId.finish(),
            operation.finish(), before.finish(), after.finish(), changes.finish(), tenant.finish(),
            occurredAt.finish(), schemaVersion.finish(), traceParent.finish(), imagesOmitted.finish(),
        ]
        messages.append(try encoder.recordBatch(length: length, columns: columns))
        return messages
    }
}
