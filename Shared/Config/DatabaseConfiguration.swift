import Contracts
import Foundation

/// `[postgres]`, `[mysql]`, `[mssql]`
public struct DatabaseConfiguration: Sendable {
    /// `url`: connection URL; a secret (`url_env`, `url_file` work too). No default.
    public var url: Secret?
    /// `pool_size`: connections per service. Default 4.
    public var poolSize = 4

    public init(_ scope: ConfigScope) throws(ConfigError) {
        url = try scope.secret("url")
        poolSize = try scope.int("pool_size", default: poolSize, range: 1...256)
    }
}
