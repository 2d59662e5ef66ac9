import Contracts
import Foundation
import PostgresNIO

/// The `postgres` transport's dead letters (`dead_letters`) and their replay. A replay puts the
/// event's change-log row back in `change_log_pending` (or, when retention deleted the row, the
/// event itself back into the change log from the letter's payload, under the same event id) and
/// deletes the letter, in one transaction; the workers then claim it as a new change (attempts
/// from zero) and, through the done marks, run only the actions that were not done.
extension ChangeLogStore {
    public func insertDeadLetter(_ letter: DeadLetter) async throws {
        try await run(
            """
            INSERT INTO fraiseql_observer.dead_letters
                (id, origin, reason, event_id, handler, attempts, last_error, payload, first_failed_at, last_failed_at)
            VALUES (\(letter.id), \(letter.origin), \(letter.reason.rawValue), \(letter.eventId), \(letter.handler),
                    \(letter.attempts), \(letter.lastError), \(letter.payload), \(letter.firstFailedAt.date),
                    \(letter.lastFailedAt.date))
            """, logger: logger)
    }

    public func deadLetterCount() async throws -> Int64 {
        var total: Int64 = 0
        for try await value in try await run(
            "SELECT count(*)::int8 FROM fraiseql_observer.dead_letters", logger: logger
        ).decode(Int64.self) { total = value }
        return total
    }

    /// The oldest `count` letters (by last failure), each as its id and the row as JSON.
    public func deadLetters(count: Int, after: UUID? = nil) async throws -> [(id: UUID, json: String)] {
        // Oldest first; a page starts after the letter `after` (by its failure time, then id).
        let rows = try await run(
            """
            SELECT id, row_to_json(d)::text FROM fraiseql_observer.dead_letters d
             WHERE \(after)::uuid IS NULL
                OR (last_failed_at, id) > (SELECT last_failed_at, id FROM fraiseql_observer.dead_letters
                                            WHERE id = \(after))
             ORDER BY last_failed_at, id LIMIT \(count)
            """, logger: logger)
        var letters: [(id: UUID, json: String)] = []
        for try await (id, json) in rows.decode((UUID, String).self) { letters.append((id, json)) }
        return letters
    }

    /// The newest letters, newest first.
    public func latestDeadLetters(count: Int) async throws -> [(id: UUID, json: String)] {
        let rows = try await run(
            """
            SELECT id, row_to_json(d)::text FROM fraiseql_observer.dead_letters d
             ORDER BY last_failed_at DESC, id DESC LIMIT \(count)
            """, logger: logger)
        var letters: [(id: UUID, json: String)] = []
        for try await (id, json) in rows.decode((UUID, String).self) { letters.append((id, json)) }
        return letters
    }

    /// One letter as JSON (nil: not there).
    public func deadLetter(_ id: UUID) async throws -> String? {
        let rows = try await run(
            "SELECT row_to_json(d)::text FROM fraiseql_observer.dead_letters d WHERE id = \(id)", logger: logger)
        for try await json in rows.decode(String.self) { return json }
        return nil
    }

    /// Deletes letters; returns how many there were.
    public func deleteDeadLetters(_ ids: [UUID]) async throws -> Int {
        let rows = try await run(
            "DELETE FROM fraiseql_observer.dead_letters WHERE id = ANY(\(ids)) RETURNING id", logger: logger)
        var deleted = 0
        for try await _ in rows.decode(UUID.self) { deleted += 1 }
        return deleted
    }

    /// The ids of the letters there now, oldest first.
    public func deadLetterIDs() async throws -> [UUID] {
        var ids: [UUID] = []
        let rows = try await run(
            "SELECT id FROM fraiseql_observer.dead_letters ORDER BY last_failed_at, id", logger: logger)
        for try await id in rows.decode(UUID.self) { ids.append(id) }
        return ids
    }

    /// What a replay did with a letter.
    public enum Replay: Sendable {
        /// The event's row is pending again; `detail` says how when it had to be recreated.
        case requeued(detail: String)
        /// Another letter of the same event already put it back.
        case alreadyPending(String)
    }

    /// Locks a letter for its replay inside ``transaction(_:)`` and returns its reason and
    /// payload (nil: not there). Takes the workers' retention lock to the end of the transaction:
    /// no purge can delete the change-log row this replay puts back in the pending table (the
    /// purge would not see the uncommitted pending entry), and replays are serialised.
    public func lockDeadLetter(_ id: UUID) async throws -> (reason: String, payload: String)? {
        try await run(
            "SELECT pg_advisory_xact_lock(hashtext(\(ChangeLogStore.observerRetentionLock)))", logger: logger)
        let rows = try await run(
            "SELECT reason, payload FROM fraiseql_observer.dead_letters WHERE id = \(id) FOR UPDATE", logger: logger)
        for try await row in rows.decode((String, String).self) { return row }
        return nil
    }

    /// Puts the letter's event back in the pending table, deletes the letter and wakes the
    /// workers, inside the transaction that ``lockDeadLetter(_:)`` began.
    public func replayDeadLetter(_ id: UUID, event: EntityEvent, payload: String) async throws -> Replay {
        let requeued = try await run(
            """
            INSERT INTO fraiseql_observer.change_log_pending (id)
            SELECT id FROM fraiseql_observer.change_log WHERE id = \(event.cursor)
            ON CONFLICT DO NOTHING RETURNING id
            """, logger: logger)
        var found = false
        for try await _ in requeued.decode(Int64.self) { found = true }
        var detail = ""
        if !found {
            // The row is gone (retention deleted it): the letter's payload is the whole event, so
            // it goes back into the change log as a new row with the same event id (its done marks
            // apply if still kept, `done_ttl`). Not when the row is still there (it is already
            // pending), nor when another letter of the same event put it back and it is pending.
            let recreated = try await run(
                """
                INSERT INTO fraiseql_observer.change_log
                    (event_id, entity_type, entity_id, operation, before, after, changes, tenant_id, occurred_at)
                SELECT (p ->> 'id')::uuid, p ->> 'entity_type', p ->> 'entity_id', p ->> 'operation',
                       NULLIF(p -> 'before', 'null'), NULLIF(p -> 'after', 'null'), NULLIF(p -> 'changes', 'null'),
                       p ->> 'tenant_id', (p ->> 'occurred_at')::timestamptz
                  FROM (SELECT \(payload)::jsonb AS p) AS letter
                 WHERE NOT EXISTS (SELECT 1 FROM fraiseql_observer.change_log WHERE id = \(event.cursor))
                   AND NOT EXISTS (SELECT 1 FROM fraiseql_observer.change_log_pending q
                                     JOIN fraiseql_observer.change_log c ON c.id = q.id
                                    WHERE c.event_id = (p ->> 'id')::uuid)
                RETURNING id
                """, logger: logger)
            var row: Int64?
            for try await value in recreated.decode(Int64.self) { row = value }
            guard let row else { return .alreadyPending("event \(event.id.lowercasedString) is already pending") }
            try await run(
                "INSERT INTO fraiseql_observer.change_log_pending (id) VALUES (\(row))", logger: logger)
            detail = " (change-log row \(event.cursor) was deleted by retention: the event is back as row \(row))"
        }
        try await run("DELETE FROM fraiseql_observer.dead_letters WHERE id = \(id)", logger: logger)
        try await notifyChanges()
        return .requeued(detail: detail)
    }
}

extension ChangeLogStore {
    /// An event of the change log as its wire JSON, `source` its bridge's transport name (nil: no
    /// row with that event id).
    public func eventJSON(id: UUID, source: String) async throws -> String? {
        let rows = try await run(
            """
            SELECT json_build_object('id', event_id, 'cursor', id, 'source', \(source)::text,
                   'entity_type', entity_type, 'entity_id', entity_id, 'operation', operation,
                   'before', before, 'after', after, 'changes', changes, 'tenant_id', tenant_id,
                   'occurred_at', to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
              FROM fraiseql_observer.change_log WHERE event_id = \(id) ORDER BY id DESC LIMIT 1
            """, logger: logger)
        for try await json in rows.decode(String.self) { return json }
        return nil
    }
}
