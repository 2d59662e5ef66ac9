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

/// A configuration value, converted from TOML once so the rest is plain Swift.
public enum ConfigValue: Sendable, Hashable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case array([ConfigValue])
    case table([String: ConfigValue])
    /// Dates and times: kept as text.
    case other(String)

    var typeName: String {
        switch self {
        case .string: "a string"
        case .int: "an integer"
        case .double: "a number"
        case .bool: "a boolean"
        case .array: "an array"
        case .table: "a table"
        case .other: "a date/time"
        }
    }

    init(_ value: any TOMLValueConvertible) {
        switch value.type {
        case .string: self = .string(value.string ?? "")
        case .int: self = .int(value.int ?? 0)
        case .double: self = .double(value.double ?? 0)
        case .bool: self = .bool(value.bool ?? false)
        case .array: self = .array((value.array ?? TOMLArray()).map { ConfigValue($0) })
        case .table:
            var fields: [String: ConfigValue] = [:]
            if let table = value.table {
                for key in table.keys { if let child = table[key] { fields[key] = ConfigValue(child) } }
            }
            self = .table(fields)
        default: self = .other(value.debugDescription)
        }
    }
}

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

    public var description: String {
        var location = file ?? "configuration"
        if let line { location += ":\(line)" }
        return key.isEmpty ? "\(location): \(message)" : "\(location): \(key): \(message)"
    }
}

/// Reads typed values from the parsed file and the environment, and remembers which keys were
/// read so unknown keys can be reported.
public final class ConfigReader: Sendable {
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

/// A section (or array element) of the configuration.
public struct ConfigScope: Sendable {
    let reader: ConfigReader
    public let path: String
    let node: [String: ConfigValue]
    /// Environment overrides apply to named sections, not to elements of arrays of tables.
    let environmentEnabled: Bool

    func fullPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A sub-table (`[nats.stream]`); missing means empty.
    public func section(_ key: String) throws(ConfigError) -> ConfigScope {
        let full = fullPath(key)
        switch node[key] {
        case nil:
            return ConfigScope(reader: reader, path: full, node: [:], environmentEnabled: environmentEnabled)
        case .table(let child)?:
            return ConfigScope(reader: reader, path: full, node: child, environmentEnabled: environmentEnabled)
        case let value?:
            throw reader.error(full, "expected a table, got \(value.typeName)")
        }
    }

    /// An array of tables (`[[observers]]`).
    public func tables(_ key: String) throws(ConfigError) -> [ConfigScope] {
        let full = fullPath(key)
        switch node[key] {
        case nil: return []
        case .array(let items)?:
            var scopes: [ConfigScope] = []
            for (index, item) in items.enumerated() {
                guard case .table(let child) = item else {
                    throw reader.error(full, "expected an array of tables, element \(index) is \(item.typeName)")
                }
                scopes.append(
                    ConfigScope(reader: reader, path: "\(full)[\(index)]", node: child, environmentEnabled: false))
            }
            return scopes
        case let value?:
            throw reader.error(full, "expected an array of tables, got \(value.typeName)")
        }
    }

    public func contains(_ key: String) -> Bool {
        node[key] != nil
            || (environmentEnabled && reader.environment[ConfigReader.environmentName(for: fullPath(key))] != nil)
    }

    /// The raw value (file or environment) of a key, marking it read.
    private func raw(_ key: String) -> (value: ConfigValue, fromEnvironment: String?)? {
        let full = fullPath(key)
        reader.markConsumed(full)
        if environmentEnabled {
            let name = ConfigReader.environmentName(for: full)
            if let text = reader.environment[name] { return (.string(text), name) }
        }
        return node[key].map { ($0, nil) }
    }

    private func mismatch(_ key: String, _ expected: String, _ value: ConfigValue, _ environment: String?)
        -> ConfigError
    {
        if let environment {
            return reader.error(fullPath(key), "expected \(expected) in environment variable \(environment)")
        }
        return reader.error(fullPath(key), "expected \(expected), got \(value.typeName)")
    }

    public func optionalString(_ key: String) throws(ConfigError) -> String? {
        guard let (value, environment) = raw(key) else { return nil }
        guard case .string(let text) = value else { throw mismatch(key, "a string", value, environment) }
        return text
    }

    public func string(_ key: String, default fallback: String) throws(ConfigError) -> String {
        try optionalString(key) ?? fallback
    }

    /// A string restricted to a set of values.
    public func choice(_ key: String, _ allowed: [String], default fallback: String) throws(ConfigError) -> String {
        let value = try string(key, default: fallback)
        guard allowed.contains(value) else {
            throw reader.error(fullPath(key), "'\(value)' is not one of \(allowed.joined(separator: ", "))")
        }
        return value
    }

    public func optionalInt(_ key: String, range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int? {
        guard let (value, environment) = raw(key) else { return nil }
        let number: Int
        switch value {
        case .int(let value): number = value
        case .string(let text) where environment != nil:
            guard let value = Int(text) else { throw mismatch(key, "an integer", value, environment) }
            number = value
        default: throw mismatch(key, "an integer", value, environment)
        }
        if let range, !range.contains(number) {
            throw reader.error(fullPath(key), "\(number) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    public func int(_ key: String, default fallback: Int, range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int {
        try optionalInt(key, range: range) ?? fallback
    }

    public func double(_ key: String, default fallback: Double, range: ClosedRange<Double>? = nil) throws(ConfigError)
        -> Double
    {
        guard let (value, environment) = raw(key) else { return fallback }
        let number: Double
        switch value {
        case .double(let value): number = value
        case .int(let value): number = Double(value)
        case .string(let text) where environment != nil:
            guard let value = Double(text) else { throw mismatch(key, "a number", value, environment) }
            number = value
        default: throw mismatch(key, "a number", value, environment)
        }
        if let range, !range.contains(number) {
            throw reader.error(fullPath(key), "\(number) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    public func bool(_ key: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let (value, environment) = raw(key) else { return fallback }
        switch value {
        case .bool(let flag): return flag
        case .string(let text) where environment != nil:
            switch text.lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no": return false
            default: throw mismatch(key, "a boolean (true/false)", value, environment)
            }
        default: throw mismatch(key, "a boolean", value, environment)
        }
    }

    /// A duration written with a unit: `250ms`, `5s`, `10m`, `2h`, `7d`.
    public func duration(_ key: String, default fallback: Duration) throws(ConfigError) -> Duration {
        guard let (value, environment) = raw(key) else { return fallback }
        guard case .string(let text) = value, let duration = DurationText.parse(text) else {
            throw mismatch(
                key, "a duration with a unit, like \"500ms\", \"5s\", \"10m\", \"2h\" or \"7d\"", value, environment)
        }
        return duration
    }

    /// An array of strings; from the environment, a comma-separated list.
    public func strings(_ key: String, default fallback: [String]) throws(ConfigError) -> [String] {
        guard let (value, environment) = raw(key) else { return fallback }
        switch value {
        case .string(let text) where environment != nil:
            return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case .array(let items):
            var result: [String] = []
            for item in items {
                guard case .string(let text) = item else {
                    throw mismatch(key, "an array of strings", value, environment)
                }
                result.append(text)
            }
            return result
        default: throw mismatch(key, "an array of strings", value, environment)
        }
    }

    /// A free-form table of strings (HTTP headers …), read as a whole.
    public func stringTable(_ key: String) throws(ConfigError) -> [String: String] {
        guard let (value, environment) = raw(key) else { return [:] }
        guard case .table(let fields) = value else { throw mismatch(key, "a table of strings", value, environment) }
        var result: [String: String] = [:]
        for (name, item) in fields {
            guard case .string(let text) = item else { throw mismatch(key, "a table of strings", value, environment) }
            result[name] = text
        }
        return result
    }

    /// A secret: the value of `key`, or of the environment variable named by `key_env`, or the
    /// contents of the file named by `key_file` (trailing newline removed). Never logged.
    public func secret(_ key: String) throws(ConfigError) -> Secret? {
        if let direct = try optionalString(key) { return Secret(direct) }
        if let variable = try optionalString("\(key)_env") {
            guard let value = reader.environment[variable] else {
                throw reader.error(fullPath("\(key)_env"), "environment variable \(variable) is not set")
            }
            return Secret(value)
        }
        if let file = try optionalString("\(key)_file") {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw reader.error(fullPath("\(key)_file"), "cannot read \(file)")
            }
            var text = String(decoding: data, as: UTF8.self)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            return Secret(text)
        }
        return nil
    }

    /// An error about a key of this scope, with its line.
    public func error(_ key: String, _ message: String) -> ConfigError {
        reader.error(fullPath(key), message)
    }
}

/// A secret value: its description is redacted so it cannot leak into logs.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "***" }
    public var debugDescription: String { "***" }
}

public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [
            ("ms", 0.001), ("us", 0.000_001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400),
        ]
        for (suffix, seconds) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count)), number >= 0, number.isFinite else { return nil }
            return .nanoseconds(Int64((number * seconds * 1_000_000_000).rounded()))
        }
        return nil
    }
}

/// Finds the line of each key in TOML text, for error messages. Understands `[table]`,
/// `[[array]]`, dotted keys and quoted keys; values spanning lines are attributed to their first line.
enum KeyLines {
    static func scan(_ text: String) -> [String: Int] {
        var result: [String: Int] = [:]
        var prefix = ""
        var arrayCounts: [String: Int] = [:]
        var inMultiline: String? = nil
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if let delimiter = inMultiline {
                if line.contains(delimiter) { inMultiline = nil }
                continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[[") {
                let name = normalize(String(line.dropFirst(2).prefix { $0 != "]" }))
                let parent = arrayParent(name, counts: arrayCounts)
                let index = arrayCounts[parent, default: -1] + 1
                arrayCounts[parent] = index
                prefix = "\(parent)[\(index)]"
                result[parent] = result[parent] ?? number
                result[prefix] = number
            } else if line.hasPrefix("[") {
                let name = normalize(String(line.dropFirst().prefix { $0 != "]" }))
                prefix = arrayParent(name, counts: arrayCounts, isTable: true)
                result[prefix] = number
            } else if let equals = line.firstIndex(of: "=") {
                let key = normalize(String(line[..<equals]))
                let full = prefix.isEmpty ? key : "\(prefix).\(key)"
                result[full] = number
                let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                for delimiter in ["\"\"\"", "'''"] where value.hasPrefix(delimiter) {
                    if !value.dropFirst(3).contains(delimiter) { inMultiline = delimiter }
                }
            }
        }
        return result
    }

    private static func normalize(_ key: String) -> String {
        key.split(separator: ".").map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }
        .joined(separator: ".")
    }

    /// `observers.actions` inside the second `[[observers]]` → `observers[1].actions`.
    private static func arrayParent(_ name: String, counts: [String: Int], isTable: Bool = false) -> String {
        let components = name.split(separator: ".")
        var resolved = ""
        for (position, component) in components.enumerated() {
            resolved = resolved.isEmpty ? String(component) : "\(resolved).\(component)"
            let isLast = position == components.count - 1
            if let index = counts[resolved], !isLast || isTable { resolved += "[\(index)]" }
        }
        return resolved
    }
}
