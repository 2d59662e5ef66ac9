/// What a statement returned: its rows (each value as the text or bytes the server sent, nil for
/// NULL), or for a statement without rows, the rows it changed and the id it generated.
public struct MariaDBResult: Sendable {
    public var columns: [String]
    public var rows: [[[UInt8]?]]
    public var affectedRows: UInt64
    public var insertID: UInt64

    public init(columns: [String] = [], rows: [[[UInt8]?]] = [], affectedRows: UInt64 = 0, insertID: UInt64 = 0) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
        self.insertID = insertID
    }

    /// The value in `row` at `column` as UTF-8 text, nil for NULL.
    public func string(_ row: Int, _ column: Int) -> String? {
        rows[row][column].map { String(decoding: $0, as: UTF8.self) }
    }

    /// The value in `row` at `column` as an integer, nil for NULL or non-integer text.
    public func int64(_ row: Int, _ column: Int) -> Int64? {
        string(row, column).flatMap { Int64($0) }
    }

    /// The first column of the first row as text (a scalar query), nil when NULL or no row.
    public var scalar: String? {
        rows.isEmpty || columns.isEmpty ? nil : string(0, 0)
    }
}
