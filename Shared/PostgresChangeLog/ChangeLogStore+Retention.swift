import Contracts
import PostgresNIO

/// Retention of the change log and the observer tables, and the backlog. A change-log row whose
/// id is no longer in `change_log_pending` is done with (published by pg-bridge, or settled by the
/// `postgres` observer transport's workers).
extension ChangeLogStore {
    /// The key (`pg_advisory_xact_lock(hashtext(…))`) that the `postgres` observer transport's
    /// purge takes, so that one worker at a time purges, and that a dead-letter replay takes, so
    /// that a purge never deletes the change-log row a replay is putting back.
    static let observerRetentionLock = "\(ChangeLogSchema.schema).observer_retention"

    /// How many rows are pending, and the capture age in seconds of the oldest (0 when none).
    public func backlog() async throws -> (rows: Int64, oldestAgeSeconds: Double) {
        let rows = try await run(
            """
            SELECT (SELECT count(*) FROM fraiseql_observer.change_log_pending)::int8,
                   COALESCE((SELECT extract(epoch FROM now() - occurred_at) FROM fraiseql_observer.change_log
                              WHERE id = (SELECT min(id) FROM fraiseql_observer.change_log_pending)), 0)::float8
            """, logger: logger)
        for try await (count, age) in rows.decode((Int64, Double).self) { return (count, age) }
        return (0, 0)
    }

    /// Deletes up to `limit` settled rows captured (`occurred_at`) longer ago than `age`; returns
    /// how many. Rows are taken from the head of the log in id order (ids grow with capture time),
    /// at most ten times `limit` of them per call: a purge of a log with nothing old costs one short
    /// index scan, with no index on the capture time for the writers to maintain.
    public func purgeChangeLog(olderThan age: Duration, limit: Int) async throws -> Int {
        try await count(
            """
            DELETE FROM fraiseql_observer.change_log WHERE id IN (
                SELECT head.id FROM (SELECT id, occurred_at FROM fraiseql_observer.change_log
                                      ORDER BY id LIMIT \(limit * 10)) AS head
                 WHERE head.occurred_at < now() - make_interval(secs => \(age.fractionalSeconds))
                   AND NOT EXISTS (SELECT 1 FROM fraiseql_observer.change_log_pending p WHERE p.id = head.id)
                 LIMIT \(limit)) RETURNING 1
            """)
    }

    /// Deletes up to `limit` done marks older than `age`, oldest first; returns how many.
    public func purgeDoneMarks(olderThan age: Duration, limit: Int) async throws -> Int {
        try await count(
            """
            DELETE FROM fraiseql_observer.observer_done WHERE ctid IN (
                SELECT ctid FROM fraiseql_observer.observer_done
                 WHERE done_at < now() - make_interval(secs => \(age.fractionalSeconds))
                 ORDER BY done_at LIMIT \(limit)) RETURNING 1
            """)
    }

    /// Deletes up to `limit` dead letters beyond the newest `keep`; returns how many.
    public func purgeDeadLetters(keeping keep: Int, limit: Int) async throws -> Int {
        try await count(
            """
            DELETE FROM fraiseql_observer.dead_letters WHERE id IN (
                SELECT id FROM fraiseql_observer.dead_letters
                 ORDER BY last_failed_at DESC, id DESC OFFSET \(keep) LIMIT \(limit))
            RETURNING 1
            """)
    }

    /// Takes the observer transport's retention lock to the end of the current transaction, unless
    /// another session holds it (false).
    public func tryObserverRetentionLock() async throws -> Bool {
        try await flag("SELECT pg_try_advisory_xact_lock(hashtext(\(Self.observerRetentionLock)))")
    }
}
