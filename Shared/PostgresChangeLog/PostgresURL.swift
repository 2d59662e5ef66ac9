import Foundation
import NIOSSL
import PostgresNIO

/// Parses `postgres://user[:password]@host[:port]/database[?sslmode=…&sslrootcert=…]`.
///
/// `sslmode` follows libpq: `disable`; `prefer` (the default: TLS when the server offers it,
/// certificate not checked); `require` (TLS, certificate not checked); `verify-ca` (the chain must
/// lead to `sslrootcert`, or the system's CAs); `verify-full` (and the host name or IP must match).
/// `sslcert` and `sslkey` give a client certificate.
public enum PostgresURL {
    /// What a URL says, before it becomes a connection's or a pool's configuration.
    struct Parsed {
        var host: String
        var port: Int
        var username: String
        var password: String?
        var database: String?
        /// `disable`, `prefer` or `require` (the verifying modes are `require` with checks).
        var mode: String
        var tls: TLSConfiguration
    }

    /// The configuration of a single connection (sessions that matter: the leader lock, LISTEN,
    /// a claim transaction).
    public static func configuration(_ url: String) throws -> PostgresConnection.Configuration {
        let parsed = try parse(url)
        let tls: PostgresConnection.Configuration.TLS
        do {
            tls =
                switch parsed.mode {
                case "disable": .disable
                case "prefer": .prefer(try NIOSSLContext(configuration: parsed.tls))
                default: .require(try NIOSSLContext(configuration: parsed.tls))
                }
        } catch {
            throw ChangeLogError(.invalidURL, "TLS settings: \(error)", key: "postgres.url", underlying: error)
        }
        var configuration = PostgresConnection.Configuration(
            host: parsed.host, port: parsed.port, username: parsed.username, password: parsed.password,
            database: parsed.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// The configuration of a pool of at most `poolSize` connections (`postgres.pool_size`), for
    /// short queries.
    public static func clientConfiguration(_ url: String, poolSize: Int) throws -> PostgresClient.Configuration {
        let parsed = try parse(url)
        // Checked now, as for a connection: a bad certificate path is a configuration error.
        if parsed.mode != "disable" {
            do { _ = try NIOSSLContext(configuration: parsed.tls) } catch {
                throw ChangeLogError(.invalidURL, "TLS settings: \(error)", key: "postgres.url", underlying: error)
            }
        }
        let tls: PostgresClient.Configuration.TLS =
            switch parsed.mode {
            case "disable": .disable
            case "prefer": .prefer(parsed.tls)
            default: .require(parsed.tls)
            }
        var configuration = PostgresClient.Configuration(
            host: parsed.host, port: parsed.port, username: parsed.username, password: parsed.password,
            database: parsed.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
        return configuration
    }

    static func parse(_ url: String) throws -> Parsed {
        guard let components = URLComponents(string: url),
            ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty
        else {
            throw ChangeLogError(
                .invalidURL, "not a postgres:// URL")
        }
        let database = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        var parameters: [String: String] = [:]
        for item in components.queryItems ?? [] { parameters[item.name] = item.value ?? "" }
        for name in parameters.keys where !["sslmode", "sslrootcert", "sslcert", "sslkey"].contains(name) {
            throw ChangeLogError(
                .invalidURL, "unknown URL parameter '\(name)' (sslmode, sslrootcert, sslcert, sslkey)")
        }
        let mode = parameters["sslmode"] ?? "prefer"
        var tls = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case "disable": break
        case "prefer", "require": tls.certificateVerification = .none
        case "verify-ca": tls.certificateVerification = .noHostnameVerification
        case "verify-full": tls.certificateVerification = .fullVerification
        default:
            throw ChangeLogError(
                .invalidURL, "sslmode '\(mode)' is not one of disable, prefer, require, verify-ca, verify-full")
        }
        do {
            guard mode != "disable" else { throw CancellationError() }
            if let root = parameters["sslrootcert"] { tls.trustRoots = .file(root) }
            if let certificate = parameters["sslcert"], let key = parameters["sslkey"] {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
        } catch is CancellationError {
            // sslmode=disable: certificates are not read.
        } catch {
            throw ChangeLogError(.invalidURL, "TLS settings: \(error)", key: "postgres.url", underlying: error)
        }
        return Parsed(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password?.removingPercentEncoding, database: database.isEmpty ? nil : database,
            mode: ["disable", "prefer"].contains(mode) ? mode : "require", tls: tls)
    }
}
