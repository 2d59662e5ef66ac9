import Config
import Contracts
import Delivery
import FleetCore
import Runtime

/// `email`: a plain-text e-mail through `[smtp]`. Keys: `to` (an address or a list; each a text
/// template), `subject` and `body` (text templates, required), `from` (default `[smtp] from`),
/// `timeout` (default: `[smtp] timeout`). The `Message-ID` is `<event id>.<observer>#<index>@fraiseql`,
/// the same on every attempt: the idempotency key of a duplicate after a crash.
struct EmailAction: ObserverAction {
    let kind = "email"
    let key: String
    let endpoint: String
    let timeout: Duration
    let smtp: SMTPClient
    let from: String
    let to: [EventTemplate]
    let subject: EventTemplate
    let body: EventTemplate

    init(_ action: ObserverDefinition.Action, key: String, resources: ActionResources) throws(ConfigError) {
        let settings = try ActionSettings(action, allowed: ["to", "subject", "body", "from", "timeout"])
        guard let smtp = resources.smtp else {
            throw settings.scope.error("kind", "an 'email' action needs [smtp] host")
        }
        self.key = key
        self.smtp = smtp
        endpoint = "smtp://\(smtp.settings.host):\(smtp.settings.port)"
        timeout = try settings.timeout(default: smtp.settings.timeout)
        from = try settings.scope.string("from", default: resources.smtpFrom)
        let recipients: [String]
        if case .string(let single)? = action.settings["to"] {
            recipients = [try settings.scope.string("to", default: single)]
        } else {
            recipients = try settings.scope.strings("to", default: [])
        }
        guard !recipients.isEmpty else { throw settings.scope.error("to", "is required") }
        var templates: [EventTemplate] = []
        for recipient in recipients {
            do {
                templates.append(try EventTemplate(recipient, escaping: .text))
            } catch {
                throw settings.scope.error("to", "is not a valid Mustache template: \(error)")
            }
        }
        to = templates
        subject = try settings.requiredTemplate("subject", escaping: .text)
        body = try settings.requiredTemplate("body", escaping: .text)
    }

    var link: ServerLink? { ServerLink.smtp(host: smtp.settings.host, security: smtp.settings.security.rawValue) }

    func preview(_ input: ActionInput) -> String {
        "mail via \(endpoint) from \(from) to \(to.map { $0.render(input.context) }.joined(separator: ", "))\n"
            + "Subject: \(subject.render(input.context))\n\n\(body.render(input.context))"
    }

    func perform(_ input: ActionInput) async throws {
        try await smtp.send(
            EmailMessage(
                from: from, to: to.map { $0.render(input.context) }, subject: subject.render(input.context),
                body: body.render(input.context),
                messageID: "\(input.event.id.lowercasedString).\(key)@fraiseql"))
    }
}
