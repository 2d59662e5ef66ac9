import Contracts

/// A change read from the source, ready to publish: the fields the engine needs for the subject
/// and headers, the event's wire JSON, and where it sits in the source.
public struct ChangeRecord<Position: SourcePosition>: Sendable {
    /// The event id as lower-case UUID text (the `Nats-Msg-Id`). Stable: the same change read
    /// again (after a crash between publish and mark, by another replica) has the same id, so the
    /// stream's duplicate window drops the copy. A stored UUID, or one derived deterministically
    /// from the source, the position and the key (``StableEventID``).
    public var eventID: String
    /// Where the change sits in the source: what the session marks, and the checkpoint's type.
    public var position: Position
    /// Whether this is the last change of its source transaction: the checkpoint only ever moves
    /// to a transaction's end, so a crash never resumes in the middle of one.
    public var endsTransaction: Bool
    /// The event's `cursor` (the `Fraiseql-Cursor` header).
    public var cursor: Int64
    public var source: String
    public var entityType: String
    public var operation: Operation
    public var traceParent: String?
    /// The ``EntityEvent`` as wire JSON.
    public var payload: [UInt8]

    public init(event: EntityEvent, position: Position, endsTransaction: Bool = true) {
        self.init(
            eventID: event.id.lowercasedString, position: position, endsTransaction: endsTransaction,
            cursor: event.cursor, source: event.source, entityType: event.entityType, operation: event.operation,
            traceParent: event.traceParent, payload: FastJSON.encode(event))
    }

    /// A change whose JSON the source wrote itself (it must decode as an ``EntityEvent`` with
    /// these fields).
    public init(
        eventID: String, position: Position, endsTransaction: Bool = true, cursor: Int64, source: String,
        entityType: String, operation: Operation, traceParent: String? = nil, payload: [UInt8]
    ) {
        self.eventID = eventID
        self.position = position
        self.endsTransaction = endsTransaction
        self.cursor = cursor
        self.source = source
        self.entityType = entityType
        self.operation = operation
        self.traceParent = traceParent
        self.payload = payload
    }
}

/// A position in a source, of the adapter's choosing: a change-log id (PostgreSQL), a binlog file
/// and offset or GTID set (MySQL), a Change Tracking version (SQL Server). Ordered as the source
/// commits; several changes of one transaction may share one.
public typealias SourcePosition = Comparable & Codable & Sendable
