import Contracts
import PostgresNIO

/// pg-bridge's statements: leadership, batch reads of unpublished rows, marks and checkpoints.
extension ChangeLogStore {
    /// The text whose `hashtext` is `transport`'s leader lock (a session advisory lock).
    static func leaderLockKey(_ transport: String) -> String { "\(ChangeLogSchema.schema).bridge.\(transport)" }

    /// Takes the session advisory lock that makes this connection the leader of `transport`
    /// (it dies with the connection); false when another session holds it.
    public func tryLeaderLock(transport: String) async throws -> Bool {
        try await flag("SELECT pg_try_advisory_lock(hashtext(\(Self.leaderLockKey(transport))))")
    }

    /// Steers the planner of this connection (which then only runs the bridge's statements). Its
    /// batch read must walk the pending ids in order and join each to its change-log row; right
    /// after a bulk load the planner's stale estimates pick a bitmap scan plus a sort of every
    /// unpublished row (measured: 265 ms per 1,000-row batch on a 200,000-row backlog), or a hash
    /// join over the whole change log.
    func planForBatchReads() async throws {
        for setting in ["enable_bitmapscan", "enable_seqscan", "enable_hashjoin"] {
            try await run(PostgresQuery(unsafeSQL: "SET \(setting) = off"), logger: logger)
        }
    }

    /// The stored checkpoint of `transport` (nil: it never published).
    public func checkpoint(transport: String) async throws -> Checkpoint? {
        let rows = try await run(
            """
            SELECT cursor, (extract(epoch FROM updated_at) * 1000000)::int8
              FROM fraiseql_observer.checkpoints WHERE transport = \(transport)
            """, logger: logger)
        for try await (cursor, micros) in rows.decode((Int64, Int64).self) {
            return Checkpoint(
                transport: transport, cursor: cursor, updatedAt: Timestamp(microsecondsSinceEpoch: micros))
        }
        return nil
    }

    /// Unpublished rows after `after` (keyset), at most `limit`, preceded by the late rows at or
    /// below `after` of the transactions `inProgress` (comma-separated xids, no limit: at most the
    /// rows of the transactions that were open then; planned away when there were none); and the
    /// transactions in progress now (`pg_snapshot_xip`).
    ///
    /// Unpublished rows in id order, not `id > cursor`: a transaction that took a lower id and
    /// committed later is still found. The join walks both primary keys in order (a merge join);
    /// the change log's side starts at the first pending id, or it would walk every published row
    /// before it on each sweep restart (measured: capture→stored p50 went from 4 to 28 ms under
    /// live load).
    func readPending(after: Int64, inProgress: String, limit: Int, quotedSource: [UInt8]) async throws
        -> (rows: [ChangeLogRow], inProgress: String)
    {
        let rows = try await run(
            """
            SELECT COALESCE((SELECT string_agg(x::text, ',') FROM pg_snapshot_xip(pg_current_snapshot()) AS x), '')
                   || E'\\n' || COALESCE(string_agg(\(unescaped: ChangeLogRow.lineSQL), E'\\n' ORDER BY id), '')
              FROM (SELECT c.* FROM fraiseql_observer.change_log_pending p
                      JOIN fraiseql_observer.change_log c ON c.id = p.id
                     WHERE \(inProgress) <> '' AND p.id <= \(after)
                       AND c.txid = ANY(string_to_array(\(inProgress), ',')::xid8[])
                    UNION ALL
                    (SELECT c.* FROM fraiseql_observer.change_log_pending p
                       JOIN fraiseql_observer.change_log c ON c.id = p.id
                      WHERE p.id > \(after)
                        AND c.id >= (SELECT min(id) FROM fraiseql_observer.change_log_pending WHERE id > \(after))
                      ORDER BY p.id
                      LIMIT \(limit))) AS batch
            """, logger: logger)
        var text: String?
        for try await value in rows.decode(String?.self) { text = value }
        guard var text else { return ([], "") }
        return try text.withUTF8 { bytes in
            var firstLineEnd = 0
            while firstLineEnd < bytes.count, bytes[firstLineEnd] != UInt8(ascii: "\n") { firstLineEnd += 1 }
            let inProgress = String(decoding: bytes[0..<firstLineEnd], as: UTF8.self)
            guard firstLineEnd + 1 < bytes.count else { return ([], inProgress) }
            let rows = try ChangeLogRow.decodeLines(
                UnsafeBufferPointer(rebasing: bytes[(firstLineEnd + 1)...]), quotedSource: quotedSource)
            return (rows, inProgress)
        }
    }

    /// Marks the rows published and moves `transport`'s checkpoint from `current` to `target` in
    /// one statement (one round trip, one commit); false when the checkpoint was no longer
    /// `current` (another bridge moved it: this one is no longer the leader). With `current` nil
    /// the checkpoint is created, only if there is none; with `target` nil it stays.
    func markPublished(ids: [Int64], transport: String, current: Int64?, target: Int64?) async throws -> Bool {
        if let current, let target, target != current {
            return try await count(
                """
                WITH marked AS (DELETE FROM fraiseql_observer.change_log_pending WHERE id = ANY(\(ids)))
                UPDATE fraiseql_observer.checkpoints SET cursor = \(target), updated_at = now()
                 WHERE transport = \(transport) AND cursor = \(current) RETURNING 1
                """) == 1
        }
        try await run(
            "DELETE FROM fraiseql_observer.change_log_pending WHERE id = ANY(\(ids))", logger: logger)
        guard current == nil, let target else { return true }
        return try await count(
            """
            INSERT INTO fraiseql_observer.checkpoints (transport, cursor, updated_at)
            VALUES (\(transport), \(target), now()) ON CONFLICT (transport) DO NOTHING RETURNING 1
            """) == 1
    }
}

extension ChangeLogStore {
    /// The session holding `transport`'s leader lock (see ``tryLeaderLock(transport:)``): its
    /// backend pid, client address and application name; nil when no bridge leads.
    public func bridgeLeader(transport: String) async throws -> BridgeLeader? {
        let rows = try await run(
            """
            SELECT a.pid, COALESCE(host(a.client_addr), 'local'), COALESCE(a.application_name, ''),
                   (extract(epoch FROM a.backend_start) * 1000000)::int8
              FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
               AND ((l.classid::int8 << 32) | l.objid::int8)
                   = hashtext(\(Self.leaderLockKey(transport)))::int8
            """, logger: logger)
        for try await (pid, address, application, since) in rows.decode((Int32, String, String, Int64).self) {
            return BridgeLeader(
                pid: Int(pid), clientAddress: address, applicationName: application,
                connectedAt: Timestamp(microsecondsSinceEpoch: since))
        }
        return nil
    }
}

extension ChangeLogStore {
    /// The newest change-log id (0 when empty).
    public func newestChange() async throws -> Int64 {
        let rows = try await run("SELECT COALESCE(max(id), 0)::int8 FROM fraiseql_observer.change_log", logger: logger)
        for try await value in rows.decode(Int64.self) { return value }
        return 0
    }

    /// How many change-log rows after `cursor` a reset to it would queue again (still kept by
    /// retention, not pending now).
    public func resettableRows(after cursor: Int64) async throws -> Int64 {
        let rows = try await run(
            """
            SELECT count(*)::int8 FROM fraiseql_observer.change_log c
             WHERE c.id > \(cursor)
               AND NOT EXISTS (SELECT 1 FROM fraiseql_observer.change_log_pending p WHERE p.id = c.id)
            """, logger: logger)
        for try await value in rows.decode(Int64.self) { return value }
        return 0
    }

    /// Moves `transport` back to `cursor`: every change-log row after it is pending again (the
    /// bridge publishes it again, under its stable event id) and the checkpoint says `cursor`.
    /// Takes `transport`'s leader lock for the transaction's connection first: false (nothing
    /// done) when a bridge holds it, since a running bridge reads only rows after its own cursor.
    /// Returns the rows queued, or nil when a bridge leads.
    public func resetCheckpoint(transport: String, to cursor: Int64) async throws -> Int64? {
        guard try await tryLeaderLock(transport: transport) else { return nil }
        // The lock is the session's: given back at the end for the next bridge.
        func unlock() async {
            _ = try? await run(
                "SELECT pg_advisory_unlock(hashtext(\(Self.leaderLockKey(transport))))",
                logger: logger)
        }
        do {
            let count = try await transaction {
                let queued = try await run(
                    """
                    INSERT INTO fraiseql_observer.change_log_pending (id)
                    SELECT id FROM fraiseql_observer.change_log WHERE id > \(cursor)
                    ON CONFLICT DO NOTHING RETURNING id
                    """, logger: logger)
                var count: Int64 = 0
                for try await _ in queued.decode(Int64.self) { count += 1 }
                try await run(
                    """
                    UPDATE fraiseql_observer.checkpoints SET cursor = \(cursor), updated_at = now()
                     WHERE transport = \(transport) AND cursor > \(cursor)
                    """, logger: logger)
                try await notifyChanges()
                return count
            }
            await unlock()
            return count
        } catch {
            await unlock()
            throw error
        }
    }
}
