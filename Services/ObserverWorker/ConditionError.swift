/// A condition that does not parse: what was expected, and where (1-based column).
public struct ConditionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var column: Int
    public var message: String
    public var description: String { "column \(column): \(message)" }
}
