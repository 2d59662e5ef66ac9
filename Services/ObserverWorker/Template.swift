import Contracts
import Foundation
import Mustache

/// A Mustache template over an event (hummingbird-project/swift-mustache).
///
/// Names: `event_id`, `entity_type`, `entity_id`, `operation`, `source`, `tenant_id`,
/// `occurred_at`, `cursor`, `before.*`, `after.*`, `changes.<field>.old|new`, and the JSON texts
/// `event_json`, `before_json`, `after_json` (use triple braces: `{{{after_json}}}`).
/// In JSON bodies `{{x}}` escapes for a JSON string (`"name": "{{after.name}}"` stays valid);
/// in text (Slack, e-mail) nothing is escaped.
struct EventTemplate: Sendable {
    enum Escaping: String {
        case json = "JSON"
        case text = "TEXT"
    }

    let source: String
    private let template: MustacheTemplate

    init(_ source: String, escaping: Escaping) throws {
        _ = Self.registered
        self.source = source
        template = try MustacheTemplate(string: "{{% CONTENT_TYPE: \(escaping.rawValue)}}" + source)
    }

    private static let registered: Bool = {
        MustacheContentTypes.register(JSONStringEscaping(), named: "JSON")
        return true
    }()

    func render(_ context: TemplateContext) -> String {
        template.render(context.values)
    }
}

/// What templates see of one event; built once per event and shared by its actions.
struct TemplateContext: @unchecked Sendable {
    // `@unchecked`: the dictionary holds only Foundation value types (String, Int64, Double,
    // Bool, arrays and dictionaries of them), built once and never mutated.
    let values: [String: Any]

    init(_ event: EntityEvent, json: [UInt8]) {
        func plain(_ value: JSONValue) -> Any? {
            switch value {
            case .null: nil
            case .bool(let flag): flag
            case .int(let number): number
            case .double(let number): number
            case .string(let text): text
            case .array(let items): items.map { plain($0) as Any }
            case .object(let fields): fields.compactMapValues { plain($0) }
            }
        }
        func text(_ row: [String: JSONValue]?) -> String {
            guard let row else { return "null" }
            return String(decoding: (try? WireFormat.encode(row)) ?? Array("null".utf8), as: UTF8.self)
        }
        var values: [String: Any] = [
            "event_id": event.id.lowercasedString, "entity_type": event.entityType, "entity_id": event.entityId,
            "operation": event.operation.rawValue, "source": event.source, "occurred_at": event.occurredAt.rfc3339,
            "cursor": event.cursor, "event_json": String(decoding: json, as: UTF8.self),
            "before_json": text(event.before), "after_json": text(event.after),
        ]
        if let tenant = event.tenantId { values["tenant_id"] = tenant }
        if let before = event.before { values["before"] = before.compactMapValues { plain($0) } }
        if let after = event.after { values["after"] = after.compactMapValues { plain($0) } }
        if let changes = event.changes {
            values["changes"] = changes.mapValues { change -> [String: Any] in
                var pair: [String: Any] = [:]
                pair["old"] = plain(change.old)
                pair["new"] = plain(change.new)
                return pair
            }
        }
        self.values = values
    }
}

/// Escapes text for the inside of a JSON string (the wire format's escaping, without the quotes).
struct JSONStringEscaping: MustacheContentType {
    func escapeText(_ text: String) -> String {
        String(FastJSON.quoted(text).dropFirst().dropLast())
    }
}
