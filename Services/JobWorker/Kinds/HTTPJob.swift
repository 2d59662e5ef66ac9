import Contracts
import Delivery
import Foundation
import Logging

/// `http`: one HTTP call, possibly long-running.
///
/// Payload: `url` (required), `method` (default `POST`), `headers` (object of strings), `body` (a
/// string is sent as is; any other JSON value is sent as JSON), `timeout_ms` (default: the job's
/// timeout). Every attempt carries `Idempotency-Key: <job id>`, the same on retries and after a
/// reclaim, so a receiver that deduplicates on it sees the effect once. Retry classes as in
/// ``DeliveryError``.
struct HTTPJob: JobHandler {
    let kind = "http"
    let delivery: HTTPDelivery
    let defaultTimeout: Duration

    func run(_ job: Job, logger: Logger) async throws {
        guard case .object(let fields) = job.payload else { throw payloadError(job, "payload must be an object") }
        guard let url = fields["url"]?.stringValue else { throw payloadError(job, "payload needs a string 'url'") }
        var headers: [(String, String)] = [("Idempotency-Key", job.id.uuidString.lowercased())]
        if let extra = fields["headers"] {
            guard case .object(let values) = extra else { throw payloadError(job, "'headers' must be an object") }
            for (name, value) in values.sorted(by: { $0.key < $1.key }) {
                guard let text = value.stringValue else { throw payloadError(job, "header '\(name)' must be a string") }
                headers.append((name, text))
            }
        }
        var body: [UInt8]? = nil
        switch fields["body"] {
        case nil, .null?: break
        case .string(let text)?: body = Array(text.utf8)
        case let value?:
            body = Array(try WireFormat.encode(value))
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                headers.append(("Content-Type", "application/json"))
            }
        }
        let timeout =
            fields["timeout_ms"]?.intValue.map { Duration.milliseconds($0.clamped(to: Job.Limits.timeoutMilliseconds)) }
            ?? defaultTimeout
        let response = try await delivery.send(
            HTTPDeliveryRequest(
                method: fields["method"]?.stringValue ?? "POST", url: url, headers: headers, body: body,
                timeout: timeout))
        logger.debug("http job delivered", metadata: ["http.status": "\(response.status)"])
    }
}
