import Foundation

/// A server a service reaches, and whether the connection is TLS with the server's certificate
/// verified (chain and host name). `ServiceMain` warns at start and sets
/// `fraiseql_tls_unverified{server,host}` to 1 for each unverified link to a host that is not
/// loopback: credentials and rows cross the network where anyone on the path can read or alter
/// them.
public struct ServerLink: Sendable, Hashable {
    /// `nats`, `redis`, `postgres`, `smtp`, `elasticsearch`, `webhook`, `slack`.
    public var server: String
    public var host: String
    public var verified: Bool
    /// How the link is secured, for the warning.
    public var detail: String

    public init(server: String, host: String, verified: Bool, detail: String) {
        self.server = server
        self.host = host
        self.verified = verified
        self.detail = detail
    }

    /// Unverified, to a host that is not this machine.
    public var isExposed: Bool { !verified && !IPAddress.isLoopback(host: host) }

    /// The host of a URL; never the credentials of one that does not parse (`user:pw@host:port`).
    public static func host(of url: String) -> String {
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        if let host = URLComponents(string: trimmed)?.host, !host.isEmpty { return host }
        let afterCredentials = trimmed.split(separator: "@").last.map(String.init) ?? trimmed
        let withoutScheme = afterCredentials.components(separatedBy: "://").last ?? afterCredentials
        return String(withoutScheme.prefix { $0 != ":" && $0 != "/" })
    }

    /// A `postgres://` URL: only `sslmode=verify-full` checks both the chain and the host name;
    /// the default `prefer` and `require` encrypt without checking who answers.
    public static func postgres(url: String) -> ServerLink {
        let mode =
            URLComponents(string: url)?.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let detail =
            switch mode {
            case "verify-full": "TLS, certificate and host name verified"
            case "verify-ca": "sslmode=verify-ca: certificate chain checked, host name not (use verify-full)"
            case "disable": "sslmode=disable: plain TCP (use verify-full)"
            default: "sslmode=\(mode): TLS when offered, certificate not checked (use verify-full)"
            }
        return ServerLink(server: "postgres", host: host(of: url), verified: mode == "verify-full", detail: detail)
    }

    /// An SMTP relay reached with `security` (`starttls`, `tls` or `none`).
    public static func smtp(host: String, security: String) -> ServerLink {
        let secure = security != "none"
        return ServerLink(
            server: "smtp", host: host, verified: secure,
            detail: secure ? "TLS (\(security)), certificate verified" : "security = \"none\": plain text")
    }

    /// An HTTP API the fleet calls by URL (Elasticsearch): `https://` verifies the certificate.
    public static func http(_ server: String, url: String) -> ServerLink {
        let secure = url.lowercased().hasPrefix("https://")
        return ServerLink(
            server: server, host: host(of: url), verified: secure,
            detail: secure ? "TLS, certificate verified" : "plain HTTP (use https://)")
    }
}
