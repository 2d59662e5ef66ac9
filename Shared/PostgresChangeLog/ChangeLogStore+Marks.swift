import Foundation
import PostgresNIO

/// The `postgres` transport's per-action done marks (`observer_done`): an event's finished
/// actions, so that a retried or replayed event never repeats them.
extension ChangeLogStore {
    /// The done action keys of each of `events`.
    public func doneActions(_ events: [UUID]) async throws -> [UUID: Set<String>] {
        let rows = try await run(
            "SELECT event_id, action_key FROM fraiseql_observer.observer_done WHERE event_id = ANY(\(events))",
            logger: logger)
        var done: [UUID: Set<String>] = [:]
        for try await (id, key) in rows.decode((UUID, String).self) { done[id, default: []].insert(key) }
        return done
    }

    /// Records done actions, pairwise (`events[i]` did `keys[i]`); repeats are ignored.
    public func markDone(events: [UUID], keys: [String]) async throws {
        try await run(
            """
            INSERT INTO fraiseql_observer.observer_done (event_id, action_key)
            SELECT * FROM unnest(\(events)::uuid[], \(keys)::text[]) ON CONFLICT DO NOTHING
            """, logger: logger)
    }
}
