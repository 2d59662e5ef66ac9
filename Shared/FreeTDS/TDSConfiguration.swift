import Foundation

/// How to reach a SQL Server, from a URL:
/// `mssql://user:password@host:port/database?encrypt=require&login_timeout=10&timeout=60`.
///
/// `encrypt`: `require` (the default, as current SQL Server drivers do: the login and every
/// packet encrypted) or `off`. `tls_ca`: a PEM file of the CAs the server certificate must chain
/// to (or `system` for the system's), and the certificate must name the URL's host; without it the
/// certificate is not checked. db-lib has no login property for a CA, so `tls_ca` works through a
/// `freetds.conf` written for the process (``FreeTDSConfigFile``). `login_timeout` and `timeout`
/// are seconds (db-lib applies them process-wide: the last connection's values win).
public struct TDSConfiguration: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var database: String?
    public var encrypt: Bool
    public var loginTimeout: Int
    public var timeout: Int
    /// `tls_ca`: the CA file (or `system`) the server certificate is verified with; nil: not verified.
    public var tlsCA: String?

    public init(
        host: String = "127.0.0.1", port: Int = 1433, user: String = "sa", password: String = "",
        database: String? = nil, encrypt: Bool = true, loginTimeout: Int = 10, timeout: Int = 60
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.encrypt = encrypt
        self.loginTimeout = loginTimeout
        self.timeout = timeout
    }

    public init(url: String) throws(TDSError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "mssql" || scheme == "sqlserver"
        else { throw TDSError(.configuration, "not an mssql:// URL") }
        guard let host = components.host, !host.isEmpty else { throw TDSError(.configuration, "the URL has no host") }
        self.init(host: host, port: components.port ?? 1433)
        user = components.user?.removingPercentEncoding ?? "sa"
        password = components.password?.removingPercentEncoding ?? ""
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        database = path.isEmpty ? nil : path.removingPercentEncoding
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "encrypt":
                switch value.lowercased() {
                case "require", "required", "true", "yes", "strict": encrypt = true
                case "off", "false", "no", "disable": encrypt = false
                default: throw TDSError(.configuration, "encrypt=\(value): expected require or off")
                }
            case "login_timeout", "timeout":
                guard let seconds = Int(value.hasSuffix("s") ? String(value.dropLast()) : value),
                    (1...86_400).contains(seconds)
                else { throw TDSError(.configuration, "\(item.name)=\(value): expected whole seconds from 1 to 86400") }
                if item.name == "timeout" { timeout = seconds } else { loginTimeout = seconds }
            case "tls_ca":
                guard !value.isEmpty else { throw TDSError(.configuration, "tls_ca: expected a file or 'system'") }
                guard value == "system" || FileManager.default.isReadableFile(atPath: value) else {
                    throw TDSError(.configuration, "tls_ca=\(value): no readable file there")
                }
                tlsCA = value
            default:
                throw TDSError(.configuration, "unknown URL option '\(item.name)'")
            }
        }
        if tlsCA != nil, !encrypt {
            throw TDSError(.configuration, "tls_ca needs encryption: remove encrypt=off")
        }
    }

    /// The URL without its password.
    public var description: String { "mssql://\(user)@\(host):\(port)/\(database ?? "")" }
}
