import Config
import Contracts
import Foundation

/// `[metrics]`
public struct MetricsConfiguration: Sendable {
    /// `listen`: the ops port (`/metrics`, `/health/live`, `/health/ready`). Default `0.0.0.0:9090`.
    /// Override per process with `FRAISEQL_METRICS_LISTEN` when services share a host.
    public var address = ListenAddress(host: "0.0.0.0", port: 9090)
    /// `enabled`: export metrics. Default true.
    public var enabled = true

    public init(_ scope: ConfigScope) throws(ConfigError) {
        let listen = try scope.string("listen", default: "0.0.0.0:9090")
        address = try ListenAddress(listen, key: scope.fullPath("listen"), scope: scope)
        enabled = try scope.bool("enabled", default: enabled)
    }
}
