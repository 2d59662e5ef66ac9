import Contracts
import Foundation
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

extension ChangeLogStore {
    /// Searches the audit index, newest first: `text` as a full-text query over the documents'
    /// string and number values (`websearch_to_tsquery`, the `simple` configuration), and the
    /// other filters exactly. `before` pages: the `occurred_at` and event id of the last hit of
    /// the previous page.
    public func searchAudit(_ query: AuditQuery) async throws -> [AuditHit] {
        let sql: PostgresQuery = """
            SELECT index_name, event_id, entity_type, entity_id, operation, tenant_id,
                   (extract(epoch FROM occurred_at) * 1000000)::int8, document::text
              FROM fraiseql_observer.audit_index
             WHERE (\(query.text)::text IS NULL OR search @@ websearch_to_tsquery('simple', \(query.text)))
               AND (\(query.index)::text IS NULL OR index_name = \(query.index))
               AND (\(query.entityType)::text IS NULL OR entity_type = \(query.entityType))
               AND (\(query.entityId)::text IS NULL OR entity_id = \(query.entityId))
               AND (\(query.operation)::text IS NULL OR operation = \(query.operation))
               AND (\(query.tenantId)::text IS NULL OR tenant_id = \(query.tenantId))
               AND (\(query.from?.date)::timestamptz IS NULL OR occurred_at >= \(query.from?.date))
               AND (\(query.to?.date)::timestamptz IS NULL OR occurred_at < \(query.to?.date))
               AND (\(query.before?.occurredAt.date)::timestamptz IS NULL
                    OR (occurred_at, event_id) < (\(query.before?.occurredAt.date), \(query.before?.eventId)))
             ORDER BY occurred_at DESC, event_id DESC
             LIMIT \(query.limit)
            """
        var hits: [AuditHit] = []
        let rows = try await run(sql, logger: logger)
        for try await (index, id, entity, entityId, operation, tenant, micros, document) in rows.decode(
            (String, UUID, String, String, String, String?, Int64, String).self)
        {
            hits.append(
                AuditHit(
                    index: index, eventId: id, entityType: entity, entityId: entityId, operation: operation,
                    tenantId: tenant, occurredAt: Timestamp(microsecondsSinceEpoch: micros), document: document))
        }
        return hits
    }
}
