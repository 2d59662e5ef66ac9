import Config
import Contracts
import Foundation

/// `[smtp]`: the relay for `email` actions and jobs.
public struct SMTPConfiguration: Sendable {
    /// `host`: no default; without it, e-mail actions and jobs fail permanently.
    public var host: String?
    /// `port`: default 587.
    public var port = 587
    /// `security`: `starttls` (required, the default), `tls` (port 465) or `none` (a local relay).
    public var security = "starttls"
    /// `username`: for AUTH (PLAIN, or LOGIN when that is all the server offers).
    public var username: String?
    /// `password`: a secret (`password_env`, `password_file`).
    public var password: Secret?
    /// `from`: default sender address.
    public var from = "fraiseql-observer@localhost"
    /// `helo_name`: default `localhost`.
    public var heloName = "localhost"
    /// `timeout`: the whole SMTP transaction. Default `30s`.
    public var timeout: Duration = .seconds(30)
    /// `ca_file`: PEM of extra trusted CA certificates (a private relay).
    public var caFile: String?

    public init(_ scope: ConfigScope) throws(ConfigError) {
        host = try scope.optionalString("host")
        port = try scope.int("port", default: port, range: 1...65535)
        security = try scope.choice("security", ["starttls", "tls", "none"], default: security)
        username = try scope.optionalString("username")
        password = try scope.secret("password")
        from = try scope.string("from", default: from)
        heloName = try scope.string("helo_name", default: heloName)
        timeout = try scope.duration("timeout", default: timeout)
        caFile = try scope.optionalString("ca_file")
        if (username == nil) != (password == nil) {
            throw scope.error(username == nil ? "username" : "password", "username and password go together")
        }
    }
}

extension SMTPConfiguration {
    /// The relay's settings, or nil when no `host` is configured.
    public var settings: SMTPSettings? {
        guard let host else { return nil }
        return SMTPSettings(
            host: host, port: port, security: SMTPSettings.Security(rawValue: security) ?? .startTLS,
            username: username, password: password?.value, heloName: heloName, timeout: timeout, caFile: caFile)
    }
}
