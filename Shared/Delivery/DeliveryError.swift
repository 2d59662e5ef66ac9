import AsyncHTTPClient
import Contracts
import Foundation
import NIOCore
import NIOHTTP1

/// Why a delivery failed, and whether trying again can help.
///
/// Retry classes (the same for webhooks, Slack, HTTP jobs): connection errors, timeouts, 408, 425,
/// 429 and 5xx are retryable (429 and 503 honour `Retry-After`); any other 4xx, 3xx, or a request
/// that cannot be built (bad URL) is permanent.
public struct DeliveryError: Error, Sendable, CustomStringConvertible {
    public enum Class: String, Sendable {
        case retryable
        case permanent
    }

    public var `class`: Class
    public var message: String
    /// The server's `Retry-After`, when it sent one.
    public var retryAfter: Duration?
    /// The HTTP status, when there was a response.
    public var status: Int?

    public init(_ class: Class, _ message: String, retryAfter: Duration? = nil, status: Int? = nil) {
        self.class = `class`
        self.message = message
        self.retryAfter = retryAfter
        self.status = status
    }

    public var isPermanent: Bool { self.class == .permanent }
    public var description: String { message }

    /// The class of an HTTP status that is not a success.
    public static func classify(status: Int) -> Class {
        switch status {
        case 408, 425, 429, 500...599: .retryable
        default: .permanent
        }
    }

    /// Parses `Retry-After`: delta seconds or an HTTP date.
    public static func retryAfter(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        // At most a day: a retry further out is the dead-letter queue's business, and an absurd
        // value must not overflow anything downstream.
        if let seconds = Int(value) { return .seconds(min(max(0, seconds), 86_400)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(min(max(0, Int64(date.timeIntervalSince(now) * 1000)), 86_400_000))
    }
}
