import Contracts
import PostgresNIO

/// The `postgres` observer transport's statements. Workers claim a batch of pending rows in a
/// transaction with `FOR UPDATE SKIP LOCKED` (so several share the work), run the events, and
/// settle each row before the commit: done or dead-lettered rows leave the pending table, retries
/// get their attempts and the time they come due.
extension ChangeLogStore {
    /// Locks up to `limit` pending rows whose retry (if any) is due, in id order, with their
    /// attempts so far. Call inside ``transaction(_:)``. A malformed row comes back as
    /// `malformed`, with its id when that could be read, and its attempts.
    public func claim(limit: Int, source: String) async throws
        -> (rows: [ChangeLogRow], malformed: [(error: ChangeLogError, attempts: Int64)])
    {
        let rows = try await run(
            """
            SELECT string_agg(\(unescaped: ChangeLogRow.lineSQL) || E'\\t' || attempts, E'\\n' ORDER BY id)
              FROM (SELECT c.*, coalesce(a.attempts, 0) AS attempts
                      FROM fraiseql_observer.change_log_pending p
                      JOIN fraiseql_observer.change_log c ON c.id = p.id
                      LEFT JOIN fraiseql_observer.observer_attempts a ON a.change_id = p.id
                     WHERE (a.not_before IS NULL OR a.not_before <= now())
                       -- a merge join would otherwise walk every published row before the first pending one
                       AND c.id >= (SELECT min(id) FROM fraiseql_observer.change_log_pending)
                     ORDER BY p.id
                     LIMIT \(limit)
                     FOR UPDATE OF p SKIP LOCKED) AS batch
            """, logger: logger)
        var text: String?
        for try await value in rows.decode(String?.self) { text = value }
        guard var text else { return ([], []) }
        var malformed: [(error: ChangeLogError, attempts: Int64)] = []
        let quotedSource = Array(FastJSON.quoted(source).utf8)
        let claimed = text.withUTF8 { bytes in
            ChangeLogRow.decodeLines(bytes, quotedSource: quotedSource, extraFields: 1) { error, line in
                // The attempts are the line's last field (`|| E'\t' || attempts`).
                let last = line.lastIndex(of: UInt8(ascii: "\t")).map { line[($0 + 1)...] } ?? line[...]
                malformed.append((error, Int64(String(decoding: last, as: UTF8.self)) ?? 0))
            }
        }
        return (claimed, malformed)
    }

    /// A claimed row to run again later.
    public struct Retry: Sendable {
        public var id: Int64
        public var attempts: Int64
        public var delay: Duration

        public init(id: Int64, attempts: Int64, delay: Duration) {
            self.id = id
            self.attempts = attempts
            self.delay = delay
        }
    }

    /// Settles claimed rows inside the claim's transaction: `done` leave the pending table (and
    /// their attempts), `retries` come due after their delay, counted from now (not from the
    /// claim's start, `now()` in SQL, which may be a whole action timeout earlier).
    public func settle(done: [Int64], retries: [Retry]) async throws {
        if !retries.isEmpty {
            try await run(
                """
                INSERT INTO fraiseql_observer.observer_attempts (change_id, attempts, not_before)
                SELECT id, attempts, clock_timestamp() + make_interval(secs => delay)
                  FROM unnest(\(retries.map(\.id))::int8[], \(retries.map(\.attempts))::int8[],
                              \(retries.map(\.delay.fractionalSeconds))::float8[])
                       AS retry(id, attempts, delay)
                ON CONFLICT (change_id) DO UPDATE SET attempts = excluded.attempts, not_before = excluded.not_before
                """, logger: logger)
        }
        if !done.isEmpty {
            try await run(
                "DELETE FROM fraiseql_observer.change_log_pending WHERE id = ANY(\(done))", logger: logger)
            try await run(
                "DELETE FROM fraiseql_observer.observer_attempts WHERE change_id = ANY(\(done))", logger: logger)
        }
    }

    /// How long until the next retry comes due (nil: none waiting). Retries already due are
    /// locked by the workers running them, so they do not count.
    public func nextRetryDue() async throws -> Duration? {
        let rows = try await run(
            """
            SELECT (extract(epoch FROM min(not_before) - clock_timestamp()) * 1000)::int8
              FROM fraiseql_observer.observer_attempts WHERE not_before > clock_timestamp()
            """, logger: logger)
        var milliseconds: Int64?
        for try await value in rows.decode(Int64?.self) { milliseconds = value }
        return milliseconds.map { .milliseconds(max(1, $0)) }
    }

    /// The transport's state for `status`: rows waiting for a retry and dead letters (nil when
    /// no worker or install created the tables yet).
    public func observerCounts() async throws -> (retrying: Int64, deadLetters: Int64)? {
        guard try await flag("SELECT to_regclass('fraiseql_observer.dead_letters') IS NOT NULL") else { return nil }
        let counts = try await run(
            """
            SELECT (SELECT count(*) FROM fraiseql_observer.observer_attempts WHERE not_before > now())::int8,
                   (SELECT count(*) FROM fraiseql_observer.dead_letters)::int8
            """, logger: logger)
        for try await (waiting, dead) in counts.decode((Int64, Int64).self) { return (waiting, dead) }
        return (0, 0)
    }
}
