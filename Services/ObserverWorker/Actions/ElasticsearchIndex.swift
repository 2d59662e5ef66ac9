import Config
import Contracts
import Delivery
import Foundation
import Logging
import PostgresChangeLog
import PostgresNIO
import Runtime

/// Elasticsearch (or OpenSearch) through the bulk API: one `index` operation per event with
/// `_id` = the event id, so a repeat overwrites the same document.
struct ElasticsearchIndex: SearchIndex {
    let url: Secret
    let http: HTTPDelivery
    var endpoint: String { WebhookAction.endpoint(url.value) }
    var link: ServerLink? { ServerLink.http("elasticsearch", url: url.value) }

    func close() async {}

    func index(_ event: EntityEvent, json: [UInt8], index: String, timeout: Duration) async throws {
        let operation = try WireFormat.encode(
            JSONValue.object([
                "index": .object(["_index": .string(index), "_id": .string(event.id.lowercasedString)])
            ]))
        // The document is the event re-encoded by the fleet's compact encoder, never the bytes as
        // received: a message with a raw line break (pretty-printed by another publisher) would
        // otherwise end the document line and inject bulk action lines of its own.
        let body = operation + [UInt8(ascii: "\n")] + FastJSON.encode(event) + [UInt8(ascii: "\n")]
        let base = url.value.hasSuffix("/") ? String(url.value.dropLast()) : url.value
        let response = try await http.send(
            HTTPDeliveryRequest(
                url: base + "/_bulk", headers: [("Content-Type", "application/x-ndjson")], body: body, timeout: timeout)
        )
        // The bulk API answers 200 and reports failures per item. Its reply opens with `took` and
        // `errors`: a reply too long to keep whole still says whether any item failed.
        guard case .object(let reply)? = try? FastJSON.parse(String(decoding: response.body, as: UTF8.self)) else {
            let head = String(decoding: response.body.prefix(256), as: UTF8.self).filter { !$0.isWhitespace }
            if response.truncated, head.contains(#""errors":false"#) { return }
            throw DeliveryError(.retryable, "Elasticsearch bulk: unreadable reply")
        }
        guard reply["errors"] == .bool(true) else { return }
        var status = 500
        var reason = "unknown"
        if case .array(let items)? = reply["items"], case .object(let item)? = items.first,
            case .object(let result)? = item["index"]
        {
            status = Int(result["status"]?.intValue ?? 500)
            if case .object(let error)? = result["error"] { reason = error["reason"]?.stringValue ?? reason }
        }
        throw DeliveryError(
            DeliveryError.classify(status: status), "Elasticsearch bulk item failed (\(status)): \(reason)",
            status: status)
    }
}
