import Contracts
import PostgresNIO

/// The `search` action's PostgreSQL audit index (``ChangeLogSchema/auditIndex``).
extension ChangeLogStore {
    /// Indexes an event's document under `index`; a repeat of the same event is ignored.
    public func indexAudit(_ event: EntityEvent, document: String, index: String) async throws {
        try await run(
            """
            INSERT INTO fraiseql_observer.audit_index
                (index_name, event_id, entity_type, entity_id, operation, tenant_id, occurred_at, document)
            VALUES (\(index), \(event.id), \(event.entityType), \(event.entityId), \(event.operation.rawValue),
                    \(event.tenantId), \(event.occurredAt.date), \(document)::jsonb)
            ON CONFLICT (index_name, event_id) DO NOTHING
            """, logger: logger)
    }
}
