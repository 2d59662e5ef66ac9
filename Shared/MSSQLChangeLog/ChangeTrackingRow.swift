import Contracts

/// One row of `CHANGETABLE(CHANGES …)`: the net change of a row since the checkpoint, with the
/// row as it is now (Change Tracking keeps no before image: inserts and updates carry the current
/// row, deletes only the key; a row changed and deleted since reads as a delete).
public struct ChangeTrackingRow: Sendable {
    /// The configured table (`dbo.orders`).
    public var table: String
    public var version: Int64
    public var operation: Operation
    /// The key column's value as text (the event's `entity_id`).
    public var key: String
    /// The current row (inserts and updates), nil for deletes.
    public var row: [String: JSONValue]?

    public init(table: String, version: Int64, operation: Operation, key: String, row: [String: JSONValue]?) {
        self.table = table
        self.version = version
        self.operation = operation
        self.key = key
        self.row = row
    }

    public var position: ChangeTrackingPosition { ChangeTrackingPosition(version: version, table: table, key: key) }
}

/// What one read of Change Tracking saw, in one snapshot.
public struct ChangeTrackingBatch: Sendable {
    /// `CHANGE_TRACKING_CURRENT_VERSION()`: rows up to it are read.
    public var currentVersion: Int64
    /// `CHANGE_TRACKING_MIN_VALID_VERSION` per table: a checkpoint below it lost changes.
    public var minValidVersions: [String: Int64]
    /// The changes after the version asked for, whole versions, ordered by position.
    public var rows: [ChangeTrackingRow]
    /// Whether the rows reach the current version (no table stopped at the limit).
    public var complete: Bool

    public init(currentVersion: Int64, minValidVersions: [String: Int64], rows: [ChangeTrackingRow], complete: Bool) {
        self.currentVersion = currentVersion
        self.minValidVersions = minValidVersions
        self.rows = rows
        self.complete = complete
    }
}
