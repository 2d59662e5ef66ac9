import Contracts
import Delivery
import Logging
import Runtime

/// `email`: one plain-text e-mail through the `[smtp]` relay.
///
/// Payload: `to` (an address or a list), `subject`, `body`, optional `from` (default `[smtp] from`).
/// The `Message-ID` is derived from the job id, the same on every attempt, so a duplicate caused
/// by a crash after sending can be recognised by the receiving side.
struct EmailJob: JobHandler {
    let kind = "email"
    let client: SMTPClient?
    let defaultFrom: String

    init(_ configuration: SMTPConfiguration) {
        defaultFrom = configuration.from
        client = SMTPClient.from(configuration)
    }

    func run(_ job: Job, logger: Logger) async throws {
        guard case .object(let fields) = job.payload else { throw payloadError(job, "payload must be an object") }
        let to: [String]
        switch fields["to"] {
        case .string(let address)?: to = [address]
        case .array(let values)?: to = values.compactMap(\.stringValue)
        default: throw payloadError(job, "payload needs 'to' (an address or a list of addresses)")
        }
        guard let subject = fields["subject"]?.stringValue, let body = fields["body"]?.stringValue else {
            throw payloadError(job, "payload needs string 'subject' and 'body'")
        }
        guard let client else {
            throw DeliveryError(.permanent, "no SMTP relay configured ([smtp] host)")
        }
        try await client.send(
            EmailMessage(
                from: fields["from"]?.stringValue ?? defaultFrom, to: to, subject: subject, body: body,
                messageID: "job-\(job.id.uuidString.lowercased())@fraiseql"))
    }
}

extension SMTPClient {
    /// The client for `[smtp]`, or nil when no host is configured.
    static func from(_ configuration: SMTPConfiguration) -> SMTPClient? {
        guard let host = configuration.host else { return nil }
        return SMTPClient(
            settings: SMTPSettings(
                host: host, port: configuration.port,
                security: SMTPSettings.Security(rawValue: configuration.security) ?? .startTLS,
                username: configuration.username, password: configuration.password?.value,
                heloName: configuration.heloName, timeout: configuration.timeout, caFile: configuration.caFile))
    }
}
