import Contracts
import Foundation
import Logging
import Synchronization

public enum LoggingBootstrap {
    /// Bootstraps swift-log once per process: text lines or JSON lines on stderr, at `level`.
    public static func bootstrap(_ configuration: LogConfiguration) {
        let level = Logger.Level(rawValue: configuration.level) ?? .info
        if configuration.format == "json" {
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        } else {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

/// One JSON object per line on stderr: `{"ts":…,"level":…,"logger":…,"msg":…, metadata…}`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public let label: String
    private static let lock = Mutex(())

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("ts", Self.quote(Timestamp.now().rfc3339)), ("level", Self.quote(event.level.rawValue)),
            ("logger", Self.quote(label)), ("msg", Self.quote("\(event.message)")),
        ]
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            fields.append((key, Self.quote("\(value)")))
        }
        let line = "{" + fields.map { "\(Self.quote($0.0)):\($0.1)" }.joined(separator: ",") + "}\n"
        Self.lock.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    static func quote(_ text: String) -> String { FastJSON.quoted(text) }
}
