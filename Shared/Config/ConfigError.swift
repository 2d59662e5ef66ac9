import Foundation

/// A configuration error: the key, where it is, and what is wrong. Services exit with code 2.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var key: String
    public var file: String?
    public var line: Int?
    public var message: String

    public init(key: String, file: String? = nil, line: Int? = nil, message: String) {
        self.key = key
        self.file = file
        self.line = line
        self.message = message
    }

    /// The exit code of a process stopped by a bad configuration.
    public static let exitCode: Int32 = 2

    public var description: String {
        var location = file ?? "configuration"
        if let line { location += ":\(line)" }
        return key.isEmpty ? "\(location): \(message)" : "\(location): \(key): \(message)"
    }
}
