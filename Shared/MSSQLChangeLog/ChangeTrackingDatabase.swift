import BridgeEngine
import Logging

/// What the Change Tracking adapter needs from SQL Server: leadership, one snapshot read of the
/// changes, the checkpoint, the dead-letter table. ``SQLServerChangeTracking`` is the real one
/// over FreeTDS; tests drive the adapter's logic (versions, transaction ends, retention, ids)
/// through a simulation of it.
public protocol ChangeTrackingDatabase: Sendable {
    associatedtype Connection: ChangeTrackingConnection
    /// Waits until this replica holds the transport's lock (`sp_getapplock` on a session that
    /// dies with the process), then returns that session.
    func lead(transport: String, logger: Logger) async throws -> Connection
    func isReachable() async -> Bool
}

public protocol ChangeTrackingConnection: Sendable {
    /// `CHANGE_TRACKING_CURRENT_VERSION()`; throws ``MSSQLError`` `.changeTrackingDisabled` when
    /// the database does not track changes.
    func currentVersion() async throws -> Int64
    /// The tables' checkpoint versions for `transport` (missing: none yet).
    func checkpoints(transport: String) async throws -> [String: Int64]
    /// In one snapshot: the current version, each table's minimum valid version, and the changes
    /// with versions above `after` and at most the current one, whole versions only (a version is
    /// a transaction: all its rows or none), about `limit` rows (more when one version has more),
    /// ordered by position. Throws ``MSSQLError`` `.changeTrackingDisabled` naming a table
    /// without it.
    func changes(tables: [String], after: Int64, limit: Int) async throws -> ChangeTrackingBatch
    /// Moves every table's checkpoint from `current` (nil: none yet) to `version`; false when one
    /// was no longer `current` (another bridge moved it).
    func moveCheckpoints(transport: String, tables: [String], from current: Int64?, to version: Int64) async throws
        -> Bool
    func setAside(transport: String, _ changes: [SetAsideChange<ChangeTrackingPosition>]) async throws
    func close() async
}
