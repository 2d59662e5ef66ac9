/// A statement parameter, sent with the binary protocol (never spliced into SQL text).
public enum MariaDBValue: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case null
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case text(String)
    case bytes([UInt8])

    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
}
