import Contracts
import Foundation
import Mustache

/// A Mustache template over an event (hummingbird-project/swift-mustache).
///
/// Names: `event_id`, `entity_type`, `entity_id`, `operation`, `source`, `tenant_id`,
/// `occurred_at`, `cursor`, `before.*`, `after.*`, `changes.<field>.old|new`, and the JSON texts
/// `event_json`, `before_json`, `after_json` (use triple braces: `{{{after_json}}}`).
/// In JSON bodies `{{x}}` escapes for a JSON string (`"name": "{{after.name}}"` stays valid);
/// in Slack text `{{x}}` escapes `&`, `<` and `>` (row data cannot mention `@channel`, a user or
/// make a link; the template's own text can); in e-mail text nothing is escaped. `{{{x}}}`
/// never escapes.
struct EventTemplate: Sendable {
    enum Escaping: String {
        case json = "JSON"
        case slack = "SLACK"
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
        MustacheContentTypes.register(SlackEscaping(), named: "SLACK")
        return true
    }()

    /// Whether the template may read `before`, `after` or `changes` (or their JSON texts): when no
    /// template or condition does, the worker does not build the rows of the events it decodes.
    /// Conservative: any mention of those words counts.
    var readsRows: Bool {
        ["before", "after", "changes"].contains { source.contains($0) }
    }

    func render(_ context: TemplateContext) -> String {
        template.render(context)
    }
}

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

/// A row (`before`, `after`) or a nested JSON object.
struct TemplateRow: MustacheParent {
    let fields: [String: JSONValue]
    func child(named name: String) -> Any? { fields[name].flatMap(TemplateContext.plain) }
}

/// `changes.<field>.old|new`.
struct TemplateChanges: MustacheParent {
    let changes: [String: FieldChange]
    func child(named name: String) -> Any? {
        guard let change = changes[name] else { return nil }
        var pair: [String: Any] = [:]
        pair["old"] = TemplateContext.plain(change.old)
        pair["new"] = TemplateContext.plain(change.new)
        return pair
    }
}

/// Escapes the three characters Slack's message formatting reads as control: `&`, `<`, `>`.
struct SlackEscaping: MustacheContentType {
    func escapeText(_ text: String) -> String {
        guard text.contains(where: { $0 == "&" || $0 == "<" || $0 == ">" }) else { return text }
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count + 8)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// Escapes text for the inside of a JSON string (the wire format's escaping, without the quotes).
struct JSONStringEscaping: MustacheContentType {
    func escapeText(_ text: String) -> String {
        String(FastJSON.quoted(text).dropFirst().dropLast())
    }
}
