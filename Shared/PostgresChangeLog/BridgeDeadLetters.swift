import BridgeEngine
import Logging
import PostgresNIO

/// The bridge's dead-letter table, `fraiseql_observer.bridge_dead_letters`: changes a bridge set
/// aside because they cannot be published (an event larger than the NATS server's `max_payload`,
/// an entity name that makes no subject), one row per change-log row and transport, with the
/// reason and the event as it would have been published. The change-log row is marked like a
/// published one, so the rows after it flow on; the operator sees the letter in
/// `fraiseql-observer status` and in `fraiseql_bridge_events_rejected_total`.
public enum BridgeDeadLetters {
    static let table = "\(ChangeLogSchema.schema).bridge_dead_letters"

    /// The table's DDL (part of `install`).
    static let ddl = """
        CREATE TABLE IF NOT EXISTS \(table) (
            transport TEXT NOT NULL,
            change_id BIGINT NOT NULL,
            event_id UUID NOT NULL,
            entity_type TEXT NOT NULL,
            reason TEXT NOT NULL,
            event_bytes INT NOT NULL,
            event JSONB,
            set_aside_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (transport, change_id)
        )
        """

    /// Records the changes (a row already there for a change is kept: idempotent).
    static func record(
        _ changes: [SetAsideChange], transport: String, connection: PostgresConnection, logger: Logger
    ) async throws {
        guard !changes.isEmpty else { return }
        let cursors = changes.map(\.record.cursor)
        let ids = changes.map(\.record.eventID)
        let entities = changes.map(\.record.entityType)
        let reasons = changes.map(\.reason)
        let sizes = changes.map { Int64($0.record.payload.count) }
        let events = changes.map { String(decoding: $0.record.payload, as: UTF8.self) }
        try await connection.checkedQuery(
            """
            INSERT INTO fraiseql_observer.bridge_dead_letters
                   (transport, change_id, event_id, entity_type, reason, event_bytes, event)
            SELECT \(transport), c, e::uuid, t, r, s, j::jsonb
              FROM unnest(\(cursors)::int8[], \(ids)::text[], \(entities)::text[], \(reasons)::text[],
                          \(sizes)::int8[], \(events)::text[]) AS x(c, e, t, r, s, j)
            ON CONFLICT (transport, change_id) DO NOTHING
            """, logger: logger)
    }

    /// One letter, for `status`.
    public struct Letter: Sendable {
        public var transport: String
        public var changeID: Int64
        public var entityType: String
        public var reason: String
        public var eventBytes: Int
    }

    /// How many letters there are and the latest few (nil when the table does not exist yet:
    /// `install` has not been re-run since it was added).
    public static func summary(_ connection: PostgresConnection, latest: Int = 5, logger: Logger) async throws
        -> (count: Int64, latest: [Letter])?
    {
        let exists = try await connection.checkedQuery(
            "SELECT to_regclass('fraiseql_observer.bridge_dead_letters') IS NOT NULL", logger: logger)
        var found = false
        for try await value in exists.decode(Bool.self) { found = value }
        guard found else { return nil }
        var count: Int64 = 0
        for try await value in try await connection.checkedQuery(
            "SELECT count(*)::int8 FROM fraiseql_observer.bridge_dead_letters", logger: logger
        ).decode(Int64.self) { count = value }
        var letters: [Letter] = []
        let rows = try await connection.checkedQuery(
            """
            SELECT transport, change_id, entity_type, reason, event_bytes
              FROM fraiseql_observer.bridge_dead_letters ORDER BY set_aside_at DESC, change_id DESC LIMIT \(latest)
            """, logger: logger)
        for try await (transport, id, entity, reason, bytes) in rows.decode((String, Int64, String, String, Int32).self)
        {
            letters.append(
                Letter(transport: transport, changeID: id, entityType: entity, reason: reason, eventBytes: Int(bytes)))
        }
        return (count, letters)
    }
}
