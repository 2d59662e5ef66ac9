import Contracts
import Foundation

/// One row of a change-log (outbox) table that triggers fill, as a trigger-mode adapter read it
/// (MySQL / MariaDB, SQL Server): the raw columns, made into the event they stand for by
/// ``record(source:)``.
public struct ChangeLogRow: Sendable {
    /// The change log's id (the position: ids grow in insertion order).
    public var id: Int64
    /// The event id the trigger stored (a UUID).
    public var eventID: String
    public var entityType: String
    public var entityID: String
    /// `insert`, `update` or `delete`.
    public var operation: String
    /// The images as JSON object text (UTF-8), nil when the operation has none.
    public var before: [UInt8]?
    public var after: [UInt8]?
    public var tenantID: String?
    /// When the trigger ran, in microseconds since 1970 (UTC).
    public var capturedMicroseconds: Int64
    /// The row as text, kept with it when it is set aside.
    public var text: @Sendable () -> String

    public init(
        id: Int64, eventID: String, entityType: String, entityID: String, operation: String, before: [UInt8]?,
        after: [UInt8]?, tenantID: String?, capturedMicroseconds: Int64, text: @escaping @Sendable () -> String
    ) {
        self.id = id
        self.eventID = eventID
        self.entityType = entityType
        self.entityID = entityID
        self.operation = operation
        self.before = before
        self.after = after
        self.tenantID = tenantID
        self.capturedMicroseconds = capturedMicroseconds
        self.text = text
    }

    /// Why a row cannot become an event (it is set aside with this reason).
    public struct Malformed: Error, Sendable {
        public var id: Int64
        public var eventID: String
        public var entityType: String
        public var reason: String
        public var row: String
    }

    /// The event this row stands for, or why it cannot be one.
    public func record(source: String) -> Result<ChangeRecord<Int64>, Malformed> {
        func problem(_ reason: String) -> Malformed {
            Malformed(id: id, eventID: eventID, entityType: entityType, reason: reason, row: text())
        }
        func malformed(_ reason: String) -> Result<ChangeRecord<Int64>, Malformed> { .failure(problem(reason)) }
        guard let uuid = UUID(uuidString: eventID) else { return malformed("event_id '\(eventID)' is not a UUID") }
        guard let operation = Operation(rawValue: operation) else {
            return malformed("unknown operation '\(self.operation)'")
        }
        func image(_ bytes: [UInt8]?) -> Result<[String: JSONValue]?, Malformed> {
            guard let bytes else { return .success(nil) }
            do {
                let value = try bytes.withUnsafeBufferPointer { try FastJSON.parse($0) }
                guard case .object(let fields) = value else { return .failure(problem("image is not a JSON object")) }
                return .success(fields)
            } catch {
                return .failure(problem("image is not JSON: \(error)"))
            }
        }
        let before: [String: JSONValue]?
        let after: [String: JSONValue]?
        switch (image(self.before), image(self.after)) {
        case (.success(let old), .success(let new)):
            before = old
            after = new
        case (.failure(let problem), _), (_, .failure(let problem)):
            return .failure(problem)
        }
        var changes: [String: FieldChange]?
        if operation == .update, let before, let after { changes = EntityEvent.diff(before: before, after: after) }
        let event = EntityEvent(
            id: uuid, cursor: id, source: source, entityType: entityType, entityId: entityID, operation: operation,
            before: before, after: after, changes: changes, tenantId: tenantID,
            occurredAt: Timestamp(microsecondsSinceEpoch: capturedMicroseconds))
        return .success(ChangeRecord(event: event, position: id))
    }
}
