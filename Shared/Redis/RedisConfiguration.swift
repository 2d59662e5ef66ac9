import Config
import Contracts
import Foundation

/// `[redis]`
public struct RedisConfiguration: Sendable {
    /// `url`: `redis://[user:password@]host:port[/db]`; a secret (`url_env`, `url_file` work too).
    public var url = Secret("redis://127.0.0.1:6379")
    /// `key_prefix`: prepended to every key the fleet writes. Default `fraiseql:`.
    public var keyPrefix = "fraiseql:"
    /// `connect_timeout`: default `2s`.
    public var connectTimeout: Duration = .seconds(2)
    /// `command_timeout`: default `2s`.
    public var commandTimeout: Duration = .seconds(2)
    /// `tls_ca_file`, `tls_cert_file`, `tls_key_file`: TLS to Redis (also on with a `rediss://`
    /// URL). The server certificate is always verified, against `tls_ca_file` when given.
    public var tls: TLSFiles?
    /// Whether `url` was given (file or environment): with the `postgres` observer transport the
    /// fleet may have no Redis at all, and the admin tools read it only when it is named.
    public var isConfigured = false

    public init(_ scope: ConfigScope) throws(ConfigError) {
        if let given = try scope.secret("url") {
            url = given
            isConfigured = true
        }
        guard url.value.hasPrefix("redis://") || url.value.hasPrefix("rediss://") else {
            throw scope.error("url", "expected a redis:// or rediss:// URL")
        }
        tls = try TLSFiles(scope, enabled: url.value.hasPrefix("rediss://"))
        keyPrefix = try scope.string("key_prefix", default: keyPrefix)
        connectTimeout = try scope.duration("connect_timeout", default: connectTimeout)
        commandTimeout = try scope.duration("command_timeout", default: commandTimeout)
    }
}

extension RedisConfiguration {
    /// The client settings: the URL, the timeouts and TLS.
    public func clientConfiguration() throws -> RedisClientConfiguration {
        var settings = try RedisClientConfiguration(url: url.value)
        settings.connectTimeout = connectTimeout
        settings.commandTimeout = commandTimeout
        if let tls { settings.tls = tls }
        return settings
    }
}
