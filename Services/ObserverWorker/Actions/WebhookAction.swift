import Config
import Contracts
import Crypto
import Delivery
import FleetCore
import Foundation
import Runtime

/// `webhook`: an HTTP request per event, signed per the Standard Webhooks scheme.
///
/// Keys: `url` (or `url_env` / `url_file`), `method` (default `POST`), `headers` (table of strings),
/// `body` (JSON template; default: the event itself), `timeout` (default `5s`), `signing_secret`
/// (or `_env` / `_file`; `whsec_<base64>` or base64), `cache_ttl` (result cache: an identical
/// rendered request that succeeded within this time is not sent again).
///
/// `webhook-id` is `<event id>.<observer>#<index>`: the same on every attempt and redelivery, so
/// a receiver that deduplicates on it sees each effect once. `webhook-timestamp` is the time of
/// the attempt and `webhook-signature` is `v1,<base64 HMAC-SHA256 of id.timestamp.body>`.
struct WebhookAction: ObserverAction {
    let kind = "webhook"
    /// AsyncHTTPClient keeps the request's deadline itself (measured: a watchdog task pair per
    /// webhook costs throughput; `make bench-worker`).
    let needsWatchdog = false
    let key: String
    let endpoint: String
    let timeout: Duration
    let cacheTTL: Duration?
    let http: HTTPDelivery
    let url: Secret
    let method: String
    let headers: [(String, String)]
    let body: EventTemplate?
    let signingKey: SymmetricKey?

    init(_ action: ObserverDefinition.Action, key: String, http: HTTPDelivery) throws(ConfigError) {
        let settings = try ActionSettings(
            action,
            allowed: [
                "url", "url_env", "url_file", "method", "headers", "body", "timeout", "signing_secret",
                "signing_secret_env", "signing_secret_file", "cache_ttl",
            ])
        self.key = key
        self.http = http
        url = try settings.url()
        endpoint = Self.endpoint(url.value)
        method = try settings.scope.choice("method", ["POST", "PUT", "PATCH"], default: "POST")
        headers = try settings.scope.stringTable("headers").sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        body = try settings.template("body", escaping: .json)
        timeout = try settings.timeout(default: .seconds(5))
        cacheTTL = try settings.scope.contains("cache_ttl") ? settings.scope.duration("cache_ttl", default: .zero) : nil
        if let secret = try settings.scope.secret("signing_secret") {
            guard let key = Self.signingKey(secret.value) else {
                throw settings.scope.error("signing_secret", "must be 'whsec_' followed by base64, or base64")
            }
            signingKey = key
        } else {
            signingKey = nil
        }
    }

    static func endpoint(_ url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return url }
        return "\(components.scheme ?? "http")://\(host)\(components.port.map { ":\($0)" } ?? "")"
    }

    static func signingKey(_ secret: String) -> SymmetricKey? {
        let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let data = Data(base64Encoded: encoded), !data.isEmpty else { return nil }
        return SymmetricKey(data: data)
    }

    /// `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`.
    static func signature(id: String, timestamp: Int, body: [UInt8], key: SymmetricKey) -> String {
        var message = Array("\(id).\(timestamp).".utf8)
        message += body
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: key)
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The default body is the payload as received.
    var readsRows: Bool { body?.readsRows ?? false }

    var link: ServerLink? { ServerLink.http("webhook", url: url.value) }

    func renderedBody(_ input: ActionInput) -> [UInt8] {
        if let body { return Array(body.render(input.context).utf8) }
        return input.payload  // the event as published: its wire JSON
    }

    func cacheKey(_ input: ActionInput) -> String? {
        guard cacheTTL != nil else { return nil }
        var hasher = SHA256()
        hasher.update(data: Array("\(method) \(url.value)\n".utf8))
        hasher.update(data: renderedBody(input))
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    func preview(_ input: ActionInput) -> String {
        "\(method) \(endpoint) (webhook-id \(input.event.id.lowercasedString).\(key))\n"
            + String(decoding: renderedBody(input), as: UTF8.self)
    }

    func perform(_ input: ActionInput) async throws {
        let payload = renderedBody(input)
        let id = "\(input.event.id.lowercasedString).\(key)"
        var headers = headers
        headers.append(("Content-Type", "application/json"))
        headers.append(("webhook-id", id))
        if let signingKey {
            let timestamp = Int(Date().timeIntervalSince1970)
            headers.append(("webhook-timestamp", String(timestamp)))
            headers.append(
                ("webhook-signature", Self.signature(id: id, timestamp: timestamp, body: payload, key: signingKey)))
        }
        _ = try await http.send(
            HTTPDeliveryRequest(method: method, url: url.value, headers: headers, body: payload, timeout: timeout))
    }
}
