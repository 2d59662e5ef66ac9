import Config
import Contracts
import Foundation

/// `[flight]`, `[[flight.tokens]]` and `[flight.limits]`: the Arrow Flight server.
public struct FlightConfiguration: Sendable {
    /// `listen`: default `0.0.0.0:8815`.
    public var address = ListenAddress(host: "0.0.0.0", port: 8815)
    /// `batch_rows`: rows per Arrow record batch unless a ticket asks for another size. Default 8192.
    public var batchRows = 8192
    /// `max_batch_rows`: the most a ticket may ask for. Default 65536.
    public var maxBatchRows = 65_536
    /// `compression`: record batch bodies, unless a ticket asks otherwise: `none` (default),
    /// `lz4` (LZ4 frame) or `zstd`.
    public var compression = "none"
    /// `flush_interval`: a live tail sends a partial batch after this long without new events.
    /// Default `200ms`.
    public var flushInterval: Duration = .milliseconds(200)
    /// `token` (a secret) and `[[flight.tokens]]`: who may call (and `[flight.jwt]`). Without
    /// any, every call is refused (UNAUTHENTICATED).
    public var tokens: [Token] = []
    /// `[flight.limits] requests_per_second`: calls per second per token. Default 50.
    public var requestsPerSecond = 50
    /// `[flight.limits] concurrent_streams`: `DoGet` streams open at once per token. Default 8.
    public var concurrentStreams = 8
    /// `tls_cert_file`, `tls_key_file`: TLS; with `tls_client_ca_file` clients must present a
    /// certificate signed by that CA (mutual TLS).
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    public var tlsClientCAFile: String?
    /// `views_url`: PostgreSQL, as a read-only role, for analytic views. No default (no views).
    public var viewsURL: Secret?
    /// `view_schema`: where `va_*` and `ta_*` views are looked up. Default `public`.
    public var viewSchema = "public"
    /// `allowed_relations`: further relations (`schema.name`) readable as views.
    public var allowedRelations: [String] = []

    /// `[flight.jwt]`: JSON Web Tokens accepted as bearer tokens besides the static ones.
    public var jwt: JWT?

    /// `[flight.jwt]`: how JWTs are verified. Their `sub` names the caller, `roles` (an array)
    /// grants roles, `entities` (optional array) limits the entity types; `exp` is required.
    public struct JWT: Sendable {
        /// `algorithm`: `HS256` (with `secret`), `ES256` or `RS256` (with `public_key_file`).
        public var algorithm: String
        /// `secret` (`secret_env`, `secret_file`): the HS256 key.
        public var secret: Secret?
        /// `public_key_file`: PEM of the ES256 or RS256 public key.
        public var publicKeyFile: String?
        /// `issuer`, `audience`: when set, a token's `iss` must equal it and its `aud` must include it.
        public var issuer: String?
        public var audience: String?
    }

    /// Roles a token can hold.
    public static let roles = ["events:read", "views:read", "admin"]

    public struct Token: Sendable {
        /// `name`: shown in logs and metrics, never the secret.
        public var name: String
        /// `token` (`token_env`, `token_file`): the bearer token.
        public var secret: Secret
        /// `roles`: some of `events:read`, `views:read`, `admin` (admin may do everything).
        public var roles: Set<String>
        /// `entities`: when set, the only entity types this token may read.
        public var entities: Set<String>?

        public init(name: String, secret: Secret, roles: Set<String>, entities: Set<String>? = nil) {
            self.name = name
            self.secret = secret
            self.roles = roles
            self.entities = entities
        }
    }

    public init(_ scope: ConfigScope) throws(ConfigError) {
        let listen = try scope.string("listen", default: "0.0.0.0:8815")
        address = try ListenAddress(listen, key: scope.fullPath("listen"), scope: scope)
        maxBatchRows = try scope.int("max_batch_rows", default: maxBatchRows, range: 1...1_000_000)
        batchRows = try scope.int("batch_rows", default: batchRows, range: 1...maxBatchRows)
        compression = try scope.choice("compression", ["none", "lz4", "zstd"], default: compression)
        flushInterval = try scope.duration("flush_interval", default: flushInterval)
        if let token = try scope.secret("token") {
            tokens.append(Token(name: "default", secret: token, roles: Set(Self.roles)))
        }
        for table in try scope.tables("tokens") {
            guard let name = try table.optionalString("name") else { throw table.error("name", "is required") }
            guard let secret = try table.secret("token") else { throw table.error("token", "is required") }
            guard secret.value.utf8.count >= 16 else {
                throw table.error("token", "must be at least 16 characters")
            }
            let roles = try table.strings("roles", default: [])
            for role in roles where !Self.roles.contains(role) {
                throw table.error("roles", "'\(role)' is not one of \(Self.roles.joined(separator: ", "))")
            }
            guard !roles.isEmpty else { throw table.error("roles", "a token needs at least one role") }
            let entities = table.contains("entities") ? Set(try table.strings("entities", default: [])) : nil
            tokens.append(Token(name: name, secret: secret, roles: Set(roles), entities: entities))
        }
        if Set(tokens.map(\.name)).count != tokens.count {
            throw scope.error("tokens", "token names must be unique")
        }
        let limits = try scope.section("limits")
        requestsPerSecond = try limits.int("requests_per_second", default: requestsPerSecond, range: 1...1_000_000)
        concurrentStreams = try limits.int("concurrent_streams", default: concurrentStreams, range: 1...10_000)
        tlsCertificateFile = try scope.optionalString("tls_cert_file")
        tlsKeyFile = try scope.optionalString("tls_key_file")
        tlsClientCAFile = try scope.optionalString("tls_client_ca_file")
        if (tlsCertificateFile == nil) != (tlsKeyFile == nil) {
            throw scope.error(
                tlsCertificateFile == nil ? "tls_cert_file" : "tls_key_file",
                "tls_cert_file and tls_key_file go together")
        }
        if tlsClientCAFile != nil && tlsCertificateFile == nil {
            throw scope.error("tls_client_ca_file", "mutual TLS needs tls_cert_file and tls_key_file")
        }
        for (key, path) in [
            ("tls_cert_file", tlsCertificateFile), ("tls_key_file", tlsKeyFile),
            ("tls_client_ca_file", tlsClientCAFile),
        ] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw scope.error(key, "cannot read '\(path)'")
            }
        }
        let jwtScope = try scope.section("jwt")
        if jwtScope.contains("algorithm") {
            let algorithm = try jwtScope.choice("algorithm", ["HS256", "ES256", "RS256"], default: "HS256")
            var jwt = JWT(
                algorithm: algorithm, secret: try jwtScope.secret("secret"),
                publicKeyFile: try jwtScope.optionalString("public_key_file"),
                issuer: try jwtScope.optionalString("issuer"), audience: try jwtScope.optionalString("audience"))
            if algorithm == "HS256" {
                guard let secret = jwt.secret, secret.value.utf8.count >= 32 else {
                    throw jwtScope.error("secret", "HS256 needs a secret of at least 32 bytes")
                }
                jwt.publicKeyFile = nil
            } else {
                guard let path = jwt.publicKeyFile else {
                    throw jwtScope.error("public_key_file", "\(algorithm) needs the PEM of the public key")
                }
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw jwtScope.error("public_key_file", "cannot read '\(path)'")
                }
            }
            self.jwt = jwt
        }
        viewsURL = try scope.secret("views_url")
        viewSchema = try scope.string("view_schema", default: viewSchema)
        allowedRelations = try scope.strings("allowed_relations", default: [])
        for relation in allowedRelations where relation.split(separator: ".").count != 2 {
            throw scope.error("allowed_relations", "'\(relation)' is not schema.name")
        }
    }
}
