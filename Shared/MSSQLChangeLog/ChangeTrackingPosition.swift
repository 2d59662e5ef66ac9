/// Where a change sits in SQL Server's Change Tracking: the commit version of its transaction
/// (database-wide, in commit order), then the table and the row's key, to order the rows of one
/// version. Checkpoints are versions: a version is a transaction, and the engine only checkpoints
/// at a version's last row.
public struct ChangeTrackingPosition: Comparable, Codable, Sendable, CustomStringConvertible {
    public var version: Int64
    public var table: String
    public var key: String

    public init(version: Int64, table: String = "", key: String = "") {
        self.version = version
        self.table = table
        self.key = key
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.version, lhs.table, lhs.key) < (rhs.version, rhs.table, rhs.key)
    }

    public var description: String { "\(version):\(table):\(key)" }
}
