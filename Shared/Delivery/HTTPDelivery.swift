import AsyncHTTPClient
/// Delivery: the outbound side shared by observer-worker actions and job-worker kinds — HTTP calls
/// with the fleet's retry classes, and an SMTP client.
import Contracts
import Foundation
import NIOCore
import NIOHTTP1

/// Sends HTTP requests over one shared AsyncHTTPClient and classifies failures.
public struct HTTPDelivery: Sendable {
    public let client: HTTPClient

    /// The process-wide client of the fleet's deliveries: up to 64 connections per host (the
    /// library's default of 8 queues a worker's in-flight webhooks behind each other), no redirects
    /// (a webhook that moved is a configuration problem, reported as a permanent failure), and no
    /// tracing: the fleet bootstraps no tracer, and the library's default (the global no-op
    /// tracer) still opens a span and renders its attributes per request, ~4% of the worker's CPU
    /// per webhook.
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Where requests may go, for URLs that come from data; nil: wherever the URL says (URLs
    /// written by the operator in the configuration).
    public let policy: OutboundPolicy?

    public init(client: HTTPClient = HTTPDelivery.sharedClient, policy: OutboundPolicy? = nil) {
        self.client = client
        self.policy = policy
    }

    /// Sends `request`; returns the response for a 2xx status, throws a classified ``DeliveryError`` otherwise.
    public func send(_ request: HTTPDeliveryRequest) async throws(DeliveryError) -> HTTPDeliveryResponse {
        // AsyncHTTPClient parses the URL; here only a cheap scheme check, and the redacted form
        // of the URL is made only for an error message.
        var shownURL: String { Self.redact(request.url, keepPath: !request.secretPath) }
        guard Self.hasHTTPScheme(request.url) else {
            throw DeliveryError(.permanent, "not an http(s) URL: '\(shownURL)'")
        }
        if let policy { try await policy.check(url: request.url) }
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method.uppercased())
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        let response: HTTPClientResponse
        let body: [UInt8]
        let truncated: Bool
        do {
            response = try await client.execute(outgoing, timeout: .nanoseconds(request.timeout.nanoseconds))
            (body, truncated) = try await Self.prefix(of: response.body)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw DeliveryError(.retryable, "timed out after \(request.timeout) (\(shownURL))")
        } catch is CancellationError {
            throw DeliveryError(.retryable, "cancelled")
        } catch let error as HTTPClientError
            where error == .invalidURL || error == .emptyHost || error == .emptyScheme
        {
            throw DeliveryError(.permanent, "not an http(s) URL: '\(shownURL)' (\(error))")
        } catch {
            throw DeliveryError(.retryable, "\(shownURL): \(error)")
        }
        // The status decides; the body is only kept for results and messages (a receiver that
        // accepts with a long body has still accepted).
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let snippet = String(decoding: body.prefix(200), as: UTF8.self)
            throw DeliveryError(
                DeliveryError.classify(status: status),
                "HTTP \(status) from \(shownURL)\(snippet.isEmpty ? "" : ": \(snippet)")",
                retryAfter: DeliveryError.retryAfter(response.headers.first(name: "retry-after")), status: status)
        }
        return HTTPDeliveryResponse(status: status, body: body, truncated: truncated)
    }

    /// How much of a response body is kept: 64 KiB.
    public static let keptBodyBytes = 64 * 1024
    /// How much of a response body is read at most: past this the connection is dropped (closed,
    /// not reused) rather than read to the end. 16 MiB.
    public static let drainedBodyBytes = 16 << 20

    /// The first `keptBodyBytes` of a body; the rest is read and discarded, up to
    /// `drainedBodyBytes` (then reading stops: the connection is closed instead of reused).
    static func prefix(of body: HTTPClientResponse.Body) async throws -> (bytes: [UInt8], truncated: Bool) {
        var kept: [UInt8] = []
        var seen = 0
        for try await chunk in body {
            seen += chunk.readableBytes
            if kept.count < keptBodyBytes {
                kept.append(contentsOf: chunk.readableBytesView.prefix(keptBodyBytes - kept.count))
            }
            if seen > drainedBodyBytes { break }
        }
        return (kept, seen > kept.count)
    }

    static func hasHTTPScheme(_ url: String) -> Bool {
        let scheme = url.utf8.prefix(8).lazy.map { $0 | 0x20 }  // ASCII lower case
        return scheme.starts(with: "http://".utf8) || scheme.starts(with: "https://".utf8)
    }

    /// The URL for logs, errors and labels: no user info, no query string, and of the path only
    /// its first segment (`/hooks/***`): webhook services put tokens in the path (Slack, Zapier,
    /// Discord). `keepPath: false` hides the whole path.
    public static func redact(_ text: String, keepPath: Bool = true) -> String {
        guard var components = URLComponents(string: text) else { return "<invalid URL>" }
        if !keepPath && !components.path.isEmpty {
            components.path = "/***"
        } else {
            let segments = components.path.split(separator: "/", omittingEmptySubsequences: true)
            if segments.count > 1 { components.path = "/\(segments[0])/***" }
        }
        if components.user != nil || components.password != nil {
            components.user = nil
            components.password = nil
        }
        if components.query != nil { components.query = "***" }
        return components.string ?? "<invalid URL>"
    }
}
