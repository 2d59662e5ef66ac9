import Foundation
import Synchronization

/// A section (or array element) of the configuration.
public struct ConfigScope: Sendable {
    let reader: ConfigFile
    public let path: String
    let node: [String: ConfigValue]
    /// Environment overrides apply to named sections, not to elements of arrays of tables.
    let environmentEnabled: Bool

    public func fullPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Every entry of this table as it is, each marked as read: for tables whose keys their
    /// reader checks later (an observer action's settings).
    public func takeEntries() -> [String: ConfigValue] {
        for key in node.keys { reader.markConsumed(fullPath(key)) }
        return node
    }

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
            || (environmentEnabled && reader.environment[ConfigFile.environmentName(for: fullPath(key))] != nil)
    }

    /// The raw value (file or environment) of a key, marking it read.
    private func raw(_ key: String) -> (value: ConfigValue, fromEnvironment: String?)? {
        let full = fullPath(key)
        reader.markConsumed(full)
        if environmentEnabled {
            let name = ConfigFile.environmentName(for: full)
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
