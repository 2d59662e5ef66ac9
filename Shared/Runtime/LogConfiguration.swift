import Config
import Contracts
import Foundation

/// `[log]`
public struct LogConfiguration: Sendable {
    /// `level`: trace, debug, info, notice, warning, error, critical. Default `info`.
    public var level: String = "info"
    /// `format`: `text` or `json` (one JSON object per line). Default `text`.
    public var format: String = "text"

    public init(_ scope: ConfigScope) throws(ConfigError) {
        level = try scope.choice(
            "level", ["trace", "debug", "info", "notice", "warning", "error", "critical"], default: level)
        format = try scope.choice("format", ["text", "json"], default: format)
    }
}
