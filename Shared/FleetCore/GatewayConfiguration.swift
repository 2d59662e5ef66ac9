import Config

/// `[gateway]` and `[[gateway.tokens]]`: metrics-gateway (fleet gauges, admin API, status page).
/// It serves everything on the ops port (`[metrics] listen`).
public struct GatewayConfiguration: Sendable {
    /// `refresh_interval`: how often the fleet's state is read for the gauges and the status
    /// page (a scrape reads the last result, never the servers). Default 5 s.
    public var refreshInterval: Duration = .seconds(5)
    /// `token` (a secret, role admin) and `[[gateway.tokens]]`: who may call the admin API.
    /// Without any, the admin API answers 401 to every call; `/metrics`, the health checks and
    /// the status page need no token.
    public var tokens: [Token] = []
    /// `status_page`: serve the HTML status page at `/`. Default true.
    public var statusPage = true
    /// `[[gateway.services]]` (`name`, `url`): the fleet's services, by their ops server's base
    /// URL (`http://host:port`): the gateway reads each one's `/health/ready` on every refresh.
    public var services: [ServiceEndpoint] = []
    /// `recent_dead_letters`: how many of the latest dead letters the status page lists. Default 10.
    public var recentDeadLetters = 10

    /// The roles: `read` (status, dead letters, audit search, replay dry runs) and `admin`
    /// (also retry, remove, replay).
    public static let roles = ["read", "admin"]

    public struct Token: Sendable {
        public var name: String
        public var secret: Secret
        /// `read` or `admin`.
        public var role: String

        public init(name: String, secret: Secret, role: String) {
            self.name = name
            self.secret = secret
            self.role = role
        }
    }

    public struct ServiceEndpoint: Sendable, Hashable {
        public var name: String
        public var url: String

        public init(name: String, url: String) {
            self.name = name
            self.url = url
        }
    }

    public init() {}

    public init(_ scope: ConfigScope) throws(ConfigError) {
        refreshInterval = try scope.duration("refresh_interval", default: refreshInterval)
        guard refreshInterval >= .milliseconds(100) else {
            throw scope.error("refresh_interval", "must be at least 100ms")
        }
        statusPage = try scope.bool("status_page", default: statusPage)
        recentDeadLetters = try scope.int("recent_dead_letters", default: recentDeadLetters, range: 0...100)
        if let token = try scope.secret("token") {
            guard token.value.utf8.count >= 16 else { throw scope.error("token", "must be at least 16 characters") }
            tokens.append(Token(name: "default", secret: token, role: "admin"))
        }
        for table in try scope.tables("tokens") {
            guard let name = try table.optionalString("name") else { throw table.error("name", "is required") }
            guard let secret = try table.secret("token") else { throw table.error("token", "is required") }
            guard secret.value.utf8.count >= 16 else { throw table.error("token", "must be at least 16 characters") }
            let role = try table.choice("role", Self.roles, default: "read")
            tokens.append(Token(name: name, secret: secret, role: role))
        }
        if Set(tokens.map(\.name)).count != tokens.count {
            throw scope.error("tokens", "token names must be unique")
        }
        for table in try scope.tables("services") {
            guard let name = try table.optionalString("name") else { throw table.error("name", "is required") }
            guard let url = try table.optionalString("url") else { throw table.error("url", "is required") }
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.count > 8 else {
                throw table.error("url", "must be an http:// or https:// URL of the service's ops server")
            }
            services.append(ServiceEndpoint(name: name, url: url.hasSuffix("/") ? String(url.dropLast()) : url))
        }
        if Set(services.map(\.name)).count != services.count {
            throw scope.error("services", "service names must be unique")
        }
    }
}
