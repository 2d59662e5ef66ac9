import Config
import Contracts
import Foundation

/// `[flight]`
public struct FlightConfiguration: Sendable {
    /// `listen`: default `0.0.0.0:8815`.
    public var address = ListenAddress(host: "0.0.0.0", port: 8815)
    /// `batch_rows`: rows per Arrow record batch. Default 8192.
    public var batchRows = 8192
    /// `token`: bearer token clients must present; a secret (`token_env`, `token_file`).
    public var token: Secret?

    public init(_ scope: ConfigScope) throws(ConfigError) {
        let listen = try scope.string("listen", default: "0.0.0.0:8815")
        address = try ListenAddress(listen, key: scope.fullPath("listen"), scope: scope)
        batchRows = try scope.int("batch_rows", default: batchRows, range: 1...1_000_000)
        token = try scope.secret("token")
    }
}
