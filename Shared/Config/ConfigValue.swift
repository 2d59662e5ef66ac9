import Foundation
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
