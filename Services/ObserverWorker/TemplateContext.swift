import Contracts
import Foundation
import Mustache

/// What templates see of one event, looked up by name when a template asks (nothing is built
/// for names no template uses: the JSON texts cost an encoding each).
struct TemplateContext: MustacheParent, Sendable {
    let event: EntityEvent
    /// The event's wire JSON as received (`event_json`).
    let json: [UInt8]

    init(_ event: EntityEvent, json: [UInt8]) {
        self.event = event
        self.json = json
    }

    func child(named name: String) -> Any? {
        switch name {
        case "event_id": event.id.lowercasedString
        case "entity_type": event.entityType
        case "entity_id": event.entityId
        case "operation": event.operation.rawValue
        case "source": event.source
        case "occurred_at": event.occurredAt.rfc3339
        case "cursor": event.cursor
        case "tenant_id": event.tenantId
        case "event_json": String(decoding: json, as: UTF8.self)
        case "before_json": Self.text(event.before)
        case "after_json": Self.text(event.after)
        case "before": event.before.map(TemplateRow.init)
        case "after": event.after.map(TemplateRow.init)
        case "changes": event.changes.map(TemplateChanges.init)
        default: nil
        }
    }

    static func text(_ row: [String: JSONValue]?) -> String {
        guard let row else { return "null" }
        return String(decoding: (try? WireFormat.encode(row)) ?? Array("null".utf8), as: UTF8.self)
    }

    /// A JSON value as Mustache sees it: nil for null (a false section), objects by name.
    static func plain(_ value: JSONValue) -> Any? {
        switch value {
        case .null: nil
        case .bool(let flag): flag
        case .int(let number): number
        case .double(let number): number
        case .string(let text): text
        case .array(let items): items.map { plain($0) as Any }
        case .object(let fields): TemplateRow(fields: fields)
        }
    }
}
