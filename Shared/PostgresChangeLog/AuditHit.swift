import Contracts
import Foundation

/// One event found in the audit index.
public struct AuditHit: Sendable, Hashable, Codable {
    public var index: String
    public var eventId: UUID
    public var entityType: String
    public var entityId: String
    public var operation: String
    public var tenantId: String?
    public var occurredAt: Timestamp
    /// The indexed document (JSON text).
    public var document: String

    /// Where the next page starts.
    public var cursor: AuditCursor { AuditCursor(occurredAt: occurredAt, eventId: eventId) }

    enum CodingKeys: String, CodingKey {
        case index
        case eventId = "event_id"
        case entityType = "entity_type"
        case entityId = "entity_id"
        case operation
        case tenantId = "tenant_id"
        case occurredAt = "occurred_at"
        case document
    }
}
