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
