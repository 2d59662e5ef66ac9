/// Runtime: what every service shares at start-up and while it runs.
///
/// Owns configuration loading (one `fraiseql.toml`, every scalar key overridable by an
/// environment variable, validation with errors that name the key and the file line, exit code 2),
/// the swift-log bootstrap (text or JSON lines), the swift-metrics bootstrap with a Prometheus
/// registry, the ops HTTP server (`/metrics`, `/health/live`, `/health/ready`) and the
/// ServiceLifecycle entry point every executable calls.
import Foundation
import Synchronization
import TOMLKit

/// Reads typed values from the parsed file and the environment, and remembers which keys were
/// read so unknown keys can be reported.
public final class ConfigFile: Sendable {
    public let file: String?
    let root: [String: ConfigValue]
    let environment: [String: String]
    let lines: [String: Int]
    private let consumed = Mutex(Set<String>())

    public init(
        root: [String: ConfigValue], environment: [String: String], lines: [String: Int] = [:], file: String? = nil
    ) {
        self.root = root
        self.environment = environment
        self.lines = lines
        self.file = file
    }

    /// Parses TOML text.
    public convenience init(toml text: String, environment: [String: String], file: String? = nil) throws(ConfigError) {
        if let line = TOMLHeaderCheck.firstBadHeader(text) {
            throw ConfigError(
                key: "", file: file, line: line,
                message: "invalid TOML: a table header's key must follow '[' (a name or a quoted string)")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(
                key: "", file: file, line: error.source.begin.line, message: "invalid TOML: \(error.description)")
        } catch {
            throw ConfigError(key: "", file: file, message: "invalid TOML: \(error)")
        }
        guard case .table(let root) = ConfigValue(table) else {
            throw ConfigError(key: "", file: file, message: "the file is not a TOML table")
        }
        self.init(root: root, environment: environment, lines: KeyLines.scan(text), file: file)
    }

    /// Loads a file; a missing or unreadable file is a configuration error.
    public convenience init(path: String, environment: [String: String]) throws(ConfigError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(key: "", file: path, message: "configuration file not found or unreadable")
        }
        try self.init(toml: String(decoding: data, as: UTF8.self), environment: environment, file: path)
    }

    public var scope: ConfigScope { ConfigScope(reader: self, path: "", node: root, environmentEnabled: true) }

    /// Every key a section asked for so far, present or not (`observers[0].name`, `nats.url_env`):
    /// what the code reads, which the configuration reference is checked against.
    public var keysRead: Set<String> { consumed.withLock { $0 } }

    func markConsumed(_ path: String) {
        _ = consumed.withLock { $0.insert(path) }
    }

    func error(_ path: String, _ message: String) -> ConfigError {
        ConfigError(key: path, file: file, line: lines[path], message: message)
    }

    /// Throws for the first key in the file that no section read.
    public func checkUnknownKeys() throws(ConfigError) {
        let consumed = self.consumed.withLock { $0 }
        var unknown: [String] = []
        func walk(_ node: [String: ConfigValue], _ prefix: String) {
            for (key, value) in node {
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                if consumed.contains(path) { continue }
                switch value {
                case .table(let child): walk(child, path)
                case .array(let items)
                where items.allSatisfy({ if case .table = $0 { true } else { false } }) && !items.isEmpty:
                    for (index, item) in items.enumerated() {
                        if case .table(let child) = item { walk(child, "\(path)[\(index)]") }
                    }
                default: unknown.append(path)
                }
            }
        }
        walk(root, "")
        if let first = unknown.sorted(by: { (lines[$0] ?? .max, $0) < (lines[$1] ?? .max, $1) }).first {
            throw error(first, "unknown key (see docs/configuration.md for the keys of each section)")
        }
    }

    /// The environment variable that overrides a key: `nats.stream.max_age` → `FRAISEQL_NATS_STREAM_MAX_AGE`.
    public static func environmentName(for path: String) -> String {
        "FRAISEQL_"
            + path.uppercased().replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_")
    }
}
