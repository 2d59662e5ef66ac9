import Contracts
import Foundation

/// `host:port`.
public struct ListenAddress: Sendable, Hashable {
    public var host: String
    public var port: Int

    public init(_ text: String, key: String, scope: ConfigScope) throws(ConfigError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port), colon > text.startIndex
        else { throw scope.reader.error(key, "expected host:port, got '\(text)'") }
        self.host = String(text[..<colon])
        self.port = port
    }

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}
