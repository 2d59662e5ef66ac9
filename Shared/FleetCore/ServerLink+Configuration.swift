import Delivery
import NATS
import Redis
import Runtime

/// The links of the configured NATS, Redis and SMTP servers.
extension ServerLink {
    /// Every server of `nats.url`: libnats verifies the certificate whenever TLS is on
    /// (`tls://` or `nats.tls_*`).
    public static func nats(_ configuration: NATSConfiguration) -> [ServerLink] {
        configuration.url.split(separator: ",").map { url in
            let secure = configuration.tls != nil || url.trimmingCharacters(in: .whitespaces).hasPrefix("tls://")
            return ServerLink(
                server: "nats", host: host(of: String(url)), verified: secure,
                detail: secure ? "TLS, certificate verified" : "plain TCP (use tls:// or nats.tls_ca_file)")
        }
    }

    /// `redis.url`: `rediss://` (or `redis.tls_*`) verifies the certificate.
    public static func redis(_ configuration: RedisConfiguration) -> ServerLink {
        let secure = configuration.tls != nil
        return ServerLink(
            server: "redis", host: host(of: configuration.url.value), verified: secure,
            detail: secure ? "TLS, certificate verified" : "plain TCP (use rediss:// or redis.tls_ca_file)")
    }

    /// `[smtp]`: `starttls` and `tls` verify the certificate; `none` is plain text.
    public static func smtp(_ configuration: SMTPConfiguration) -> ServerLink? {
        configuration.host.map { smtp(host: $0, security: configuration.security) }
    }
}
