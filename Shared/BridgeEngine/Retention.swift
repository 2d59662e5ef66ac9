import Logging

/// Who deletes what was published.
public enum Retention: Sendable {
    /// The bridge purges published changes older than `bridge.retention`
    /// (``ChangeSession/purgePublished(olderThan:limit:)``), as pg-bridge does with its change log.
    case bridge
    /// The database expires changes on its own schedule (SQL Server Change Tracking's retention,
    /// MySQL's binlog expiry); it may pass the checkpoint, and then the session throws
    /// ``BridgeError/Code/resyncRequired``.
    case database
}
