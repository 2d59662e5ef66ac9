import Contracts
import Delivery
import FleetCore
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
        client = FleetClients.smtp(configuration)
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
