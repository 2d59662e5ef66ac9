import Contracts

/// The rows of a statement: column names and db-lib types, each value as db-lib's bytes (nil for
/// NULL); ``json(_:_:)`` decodes one.
public struct TDSResult: Sendable {
    public var columns: [String] = []
    public var types: [Int32] = []
    public var rows: [[[UInt8]?]] = []

    public init(columns: [String] = [], types: [Int32] = [], rows: [[[UInt8]?]] = []) {
        self.columns = columns
        self.types = types
        self.rows = rows
    }

    /// The value in `row` at `column` as JSON (`null` for NULL).
    public func json(_ row: Int, _ column: Int) throws -> JSONValue {
        guard let bytes = rows[row][column] else { return .null }
        return try TDSValueDecoder.json(type: types[column], bytes: bytes)
    }

    /// The value as text (char types, or a number's text), nil for NULL.
    public func string(_ row: Int, _ column: Int) -> String? {
        guard let value = try? json(row, column) else { return nil }
        switch value {
        case .string(let text): return text
        case .int(let number): return String(number)
        case .null: return nil
        default: return "\(value)"
        }
    }
}
