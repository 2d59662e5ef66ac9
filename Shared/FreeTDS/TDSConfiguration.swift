import Foundation

/// How to reach a SQL Server, from a URL:
/// `mssql://user:password@host:port/database?encrypt=require&login_timeout=10&timeout=60`.
///
/// `encrypt`: `require` (the default, as current SQL Server drivers do: the login and every
/// packet encrypted) or `off`. db-lib verifies the server certificate only when FreeTDS's
/// configuration says so (`ca file` and `check certificate hostname` in a `freetds.conf` named by
/// `FREETDSCONF`): docs/security.md. `login_timeout` and `timeout` are seconds (db-lib applies
/// them process-wide: the last connection's values win).
public struct TDSConfiguration: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var database: String?
    public var encrypt: Bool
    public var loginTimeout: Int
    public var timeout: Int

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
            default:
                throw TDSError(.configuration, "unknown URL option '\(item.name)'")
            }
        }
    }

    /// The URL without its password.
    public var description: String { "mssql://\(user)@\(host):\(port)/\(database ?? "")" }
}
