import BridgeEngine
import Contracts
import Foundation
import MariaDB

/// A change-log row made into the event it stands for.
enum MySQLChangeRow {
    /// Why a row cannot become an event (it is set aside with this reason).
    struct Malformed: Error {
        var id: Int64
        var eventID: String
        var entityType: String
        var reason: String
        var row: String
    }

    /// Row `index` of a result selected with ``MySQLChangeLogStore/rowColumns``.
    static func record(_ result: MariaDBResult, _ index: Int, source: String) -> Result<ChangeRecord<Int64>, Malformed>
    {
        let id = result.int64(index, 0) ?? 0
        let eventID = result.string(index, 1) ?? ""
        let entityType = result.string(index, 2) ?? ""
        func malformed(_ reason: String) -> Result<ChangeRecord<Int64>, Malformed> {
            let text = result.rows[index].map { $0.map { String(decoding: $0, as: UTF8.self) } ?? "NULL" }
            return .failure(
                Malformed(
                    id: id, eventID: eventID, entityType: entityType, reason: reason, row: text.joined(separator: "\t"))
            )
        }
        guard let uuid = UUID(uuidString: eventID) else { return malformed("event_id '\(eventID)' is not a UUID") }
        guard let operation = result.string(index, 4).flatMap(Operation.init(rawValue:)) else {
            return malformed("unknown operation")
        }
        func image(_ column: Int) -> Result<[String: JSONValue]?, Malformed> {
            guard let bytes = result.rows[index][column] else { return .success(nil) }
            do {
                let value = try bytes.withUnsafeBufferPointer { try FastJSON.parse($0) }
                guard case .object(let fields) = value else {
                    return .failure(
                        Malformed(
                            id: id, eventID: eventID, entityType: entityType, reason: "image is not a JSON object",
                            row: ""))
                }
                return .success(fields)
            } catch {
                return .failure(
                    Malformed(
                        id: id, eventID: eventID, entityType: entityType, reason: "image is not JSON: \(error)", row: ""
                    ))
            }
        }
        let before: [String: JSONValue]?
        let after: [String: JSONValue]?
        switch (image(5), image(6)) {
        case (.success(let old), .success(let new)):
            before = old
            after = new
        case (.failure(let problem), _), (_, .failure(let problem)):
            return malformed(problem.reason)
        }
        var changes: [String: FieldChange]?
        if operation == .update, let before, let after { changes = EntityEvent.diff(before: before, after: after) }
        let event = EntityEvent(
            id: uuid, cursor: id, source: source, entityType: entityType, entityId: result.string(index, 3) ?? "",
            operation: operation, before: before, after: after, changes: changes, tenantId: result.string(index, 7),
            occurredAt: Timestamp(microsecondsSinceEpoch: result.int64(index, 8) ?? 0))
        return .success(ChangeRecord(event: event, position: id))
    }
}
