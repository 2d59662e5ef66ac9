import Config
import Contracts
import Crypto
import Delivery
import FleetCore
import Foundation
import Runtime

/// `slack`: a message to a Slack incoming webhook. Keys: `url` (or `url_env` / `url_file`: the URL
/// is a secret), `text` (template, required: `{{x}}` escapes `&`, `<`, `>` from row data, so a
/// row cannot mention `@channel` or make a link), `timeout` (default `5s`).
struct SlackAction: ObserverAction {
    let kind = "slack"
    /// AsyncHTTPClient keeps the request's deadline itself.
    let needsWatchdog = false
    let key: String
    let endpoint: String
    let timeout: Duration
    let http: HTTPDelivery
    let url: Secret
    let text: EventTemplate

    init(_ action: ObserverDefinition.Action, key: String, http: HTTPDelivery) throws(ConfigError) {
        let settings = try ActionSettings(action, allowed: ["url", "url_env", "url_file", "text", "timeout"])
        self.key = key
        self.http = http
        url = try settings.url()
        endpoint = WebhookAction.endpoint(url.value)
        text = try settings.requiredTemplate("text", escaping: .slack)
        timeout = try settings.timeout(default: .seconds(5))
    }

    var readsRows: Bool { text.readsRows }

    var link: ServerLink? { ServerLink.http("slack", url: url.value) }

    func preview(_ input: ActionInput) -> String {
        "POST \(endpoint) (Slack)\n" + text.render(input.context)
    }

    func perform(_ input: ActionInput) async throws {
        let body = try WireFormat.encode(JSONValue.object(["text": .string(text.render(input.context))]))
        _ = try await http.send(
            HTTPDeliveryRequest(
                url: url.value, headers: [("Content-Type", "application/json")], body: body, timeout: timeout,
                secretPath: true))
    }
}
