import CNATS
import Config
import Contracts
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import Synchronization

/// How to connect.
public struct NATSClientConfiguration: Sendable {
    /// One URL or a comma-separated list (`nats://a:4222,nats://b:4222`).
    public var url: String
    /// Connection name shown by the server (`observer-worker`).
    public var name: String
    public var connectTimeout: Duration
    public var reconnectWait: Duration
    /// -1: retry forever.
    public var maxReconnects: Int
    /// Bytes buffered while disconnected (publishes made during a reconnect).
    public var reconnectBufferBytes: Int
    /// When the first connect fails, keep trying in the background instead of failing.
    public var retryOnFailedConnect: Bool
    /// Timeout of JetStream API requests and synchronous publishes.
    public var requestTimeout: Duration
    /// Outstanding asynchronous publishes before a publish stalls.
    public var maxPendingPublishes: Int
    public var pingInterval: Duration
    /// TLS to the servers; nil for plain TCP (unless the URL says `tls://`: then the system's CAs).
    public var tls: TLSFiles?

    public init(
        url: String = "nats://127.0.0.1:4222", name: String = "fraiseql", connectTimeout: Duration = .seconds(2),
        reconnectWait: Duration = .milliseconds(250), maxReconnects: Int = -1,
        reconnectBufferBytes: Int = 8 * 1024 * 1024, retryOnFailedConnect: Bool = false,
        requestTimeout: Duration = .seconds(5), maxPendingPublishes: Int = 16_384,
        pingInterval: Duration = .seconds(10),
        tls: TLSFiles? = nil
    ) {
        self.url = url
        self.name = name
        self.connectTimeout = connectTimeout
        self.reconnectWait = reconnectWait
        self.maxReconnects = maxReconnects
        self.reconnectBufferBytes = reconnectBufferBytes
        self.retryOnFailedConnect = retryOnFailedConnect
        self.requestTimeout = requestTimeout
        self.maxPendingPublishes = maxPendingPublishes
        self.pingInterval = pingInterval
        self.tls = tls
    }
}

extension NATSClientConfiguration {
    /// The URL list without user info, for logs and errors.
    public static func redacted(_ url: String) -> String {
        url.split(separator: ",").map { part -> String in
            let text = part.trimmingCharacters(in: .whitespaces)
            guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://") else { return text }
            return String(text[..<scheme.upperBound]) + "***@" + String(text[text.index(after: at)...])
        }.joined(separator: ",")
    }
}
