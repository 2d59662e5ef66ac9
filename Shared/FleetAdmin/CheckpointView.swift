import Contracts
import PostgresChangeLog

/// A bridge's checkpoint and what surrounds it: where it stands, the newest change, what is
/// unpublished, who leads.
public struct CheckpointView: Sendable, Codable, Hashable {
    public var transport: String
    /// nil: the bridge never published.
    public var cursor: Int64?
    public var updatedAt: Timestamp?
    public var newestChange: Int64
    public var unpublishedRows: Int64
    public var leader: BridgeLeader?

    enum CodingKeys: String, CodingKey {
        case transport, cursor, leader
        case updatedAt = "updated_at"
        case newestChange = "newest_change"
        case unpublishedRows = "unpublished_rows"
    }
}

/// What a checkpoint reset did, or (dry) would do.
public struct CheckpointReset: Sendable, Codable, Hashable {
    public var transport: String
    public var toCursor: Int64
    public var dryRun: Bool
    /// Change-log rows queued to be published again (kept by retention, not pending before).
    public var rows: Int64

    enum CodingKeys: String, CodingKey {
        case transport, rows
        case toCursor = "to_cursor"
        case dryRun = "dry_run"
    }
}
