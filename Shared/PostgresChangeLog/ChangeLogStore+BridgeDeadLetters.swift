import PostgresNIO

/// The bridge's dead-letter table, `bridge_dead_letters`: changes a bridge set aside because they
/// cannot be published (an event larger than the NATS server's `max_payload`, an entity name that
/// makes no subject), one row per change-log row and transport, with the reason and the event as
/// it would have been published. The change-log row is marked like a published one, so the rows
/// after it flow on; the operator sees the letter in `fraiseql-observer status` and in
/// `fraiseql_bridge_events_rejected_total`.
extension ChangeLogStore {
    /// One set-aside change.
    public struct BridgeDeadLetter: Sendable {
        public var transport: String
        public var changeID: Int64
        public var eventID: String
        public var entityType: String
        public var reason: String
        /// The event as it would have been published (empty in a summary).
        public var event: [UInt8]
        /// The event's size in bytes.
        public var eventBytes: Int

        public init(
            transport: String, changeID: Int64, eventID: String, entityType: String, reason: String, event: [UInt8]
        ) {
            self.transport = transport
            self.changeID = changeID
            self.eventID = eventID
            self.entityType = entityType
            self.reason = reason
            self.event = event
            self.eventBytes = event.count
        }
    }

    /// Records the letters (a row already there for a change is kept: idempotent).
    public func recordBridgeDeadLetters(_ letters: [BridgeDeadLetter]) async throws {
        guard let transport = letters.first?.transport else { return }
        let events = letters.map { String(decoding: $0.event, as: UTF8.self) }
        try await run(
            """
            INSERT INTO fraiseql_observer.bridge_dead_letters
                   (transport, change_id, event_id, entity_type, reason, event_bytes, event)
            SELECT \(transport), c, e::uuid, t, r, s, j::jsonb
              FROM unnest(\(letters.map(\.changeID))::int8[], \(letters.map(\.eventID))::text[],
                          \(letters.map(\.entityType))::text[], \(letters.map(\.reason))::text[],
                          \(letters.map { Int64($0.eventBytes) })::int8[], \(events)::text[]) AS x(c, e, t, r, s, j)
            ON CONFLICT (transport, change_id) DO NOTHING
            """, logger: logger)
    }

    /// How many letters there are and the latest few, without their events (nil when the table
    /// does not exist yet: `install` has not been re-run since it was added).
    public func bridgeDeadLetterSummary(latest: Int = 5) async throws -> (count: Int64, latest: [BridgeDeadLetter])? {
        guard try await flag("SELECT to_regclass('fraiseql_observer.bridge_dead_letters') IS NOT NULL") else {
            return nil
        }
        var count: Int64 = 0
        for try await value in try await run(
            "SELECT count(*)::int8 FROM fraiseql_observer.bridge_dead_letters", logger: logger
        ).decode(Int64.self) { count = value }
        var letters: [BridgeDeadLetter] = []
        let rows = try await run(
            """
            SELECT transport, change_id, event_id::text, entity_type, reason, event_bytes
              FROM fraiseql_observer.bridge_dead_letters ORDER BY set_aside_at DESC, change_id DESC LIMIT \(latest)
            """, logger: logger)
        for try await (transport, id, eventID, entity, reason, bytes) in rows.decode(
            (String, Int64, String, String, String, Int32).self)
        {
            var letter = BridgeDeadLetter(
                transport: transport, changeID: id, eventID: eventID, entityType: entity, reason: reason, event: [])
            letter.eventBytes = Int(bytes)
            letters.append(letter)
        }
        return (count, letters)
    }
}

extension ChangeLogSchema {
    /// The table's DDL (part of `install`).
    static let bridgeDeadLetters = """
        CREATE TABLE IF NOT EXISTS \(schema).bridge_dead_letters (
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
}
