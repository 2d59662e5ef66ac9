import Foundation

/// How to reach a MySQL or MariaDB server, from a URL:
/// `mysql://user:password@host:port/database?tls=required&tls_ca=/path/ca.pem&connect_timeout=5s`.
///
/// Query options: `tls` (`disabled`, `preferred`, `required`, `verify_identity`; default
/// `preferred` when `tls_ca` is given, else `disabled`), `tls_ca` (CA file), `connect_timeout`,
/// `read_timeout`, `write_timeout` (seconds, or with `s`; defaults 10, 60, 60).
public struct MariaDBConfiguration: Sendable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, CaseIterable {
        case disabled, preferred, required
        case verifyIdentity = "verify_identity"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String?
    public var tls: TLSMode
    public var tlsCAFile: String?
    public var connectTimeout: Duration
    /// Bounds every read from the server: a statement whose reply does not come within it fails
    /// and the connection is closed (the connector's own timeout; nothing blocks forever).
    public var readTimeout: Duration
    public var writeTimeout: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 3306, user: String = "root", password: String? = nil,
        database: String? = nil, tls: TLSMode = .disabled, tlsCAFile: String? = nil,
        connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(60),
        writeTimeout: Duration = .seconds(60)
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
        self.tlsCAFile = tlsCAFile
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.writeTimeout = writeTimeout
    }

    /// Parses a `mysql://` or `mariadb://` URL; the error names what is wrong.
    public init(url: String) throws(MariaDBError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "mysql" || scheme == "mariadb"
        else {
            throw MariaDBError(.configuration, "not a mysql:// URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw MariaDBError(.configuration, "the URL has no host")
        }
        self.init(host: host == "localhost" ? "127.0.0.1" : host, port: components.port ?? 3306)
        user = components.user?.removingPercentEncoding ?? "root"
        password = components.password?.removingPercentEncoding
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        database = path.isEmpty ? nil : path.removingPercentEncoding
        var tlsGiven = false
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "tls", "ssl_mode", "ssl-mode":
                guard let mode = TLSMode(rawValue: value.lowercased().replacingOccurrences(of: "-", with: "_")) else {
                    throw MariaDBError(
                        .configuration,
                        "tls=\(value): expected one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                tls = mode
                tlsGiven = true
            case "tls_ca", "ssl_ca", "ssl-ca": tlsCAFile = value
            case "connect_timeout": connectTimeout = try Self.seconds(item.name, value)
            case "read_timeout": readTimeout = try Self.seconds(item.name, value)
            case "write_timeout": writeTimeout = try Self.seconds(item.name, value)
            default: throw MariaDBError(.configuration, "unknown URL option '\(item.name)'")
            }
        }
        if !tlsGiven, tlsCAFile != nil { tls = .preferred }
    }

    private static func seconds(_ name: String, _ text: String) throws(MariaDBError) -> Duration {
        let digits = text.hasSuffix("s") ? String(text.dropLast()) : text
        guard let value = Int(digits), (1...86_400).contains(value) else {
            throw MariaDBError(.configuration, "\(name)=\(text): expected whole seconds from 1 to 86400")
        }
        return .seconds(value)
    }

    /// The URL without its password.
    public var description: String {
        "mysql://\(user)@\(host):\(port)/\(database ?? "")"
    }
}
