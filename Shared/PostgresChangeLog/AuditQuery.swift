import Contracts
import Foundation

/// A search of the audit index (``ChangeLogStore/searchAudit(_:)``); nil filters match all.
public struct AuditQuery: Sendable, Hashable {
    /// Words, "quoted phrases", `or` and `-excluded` (PostgreSQL's `websearch_to_tsquery`).
    public var text: String?
    public var index: String?
    public var entityType: String?
    public var entityId: String?
    public var operation: String?
    public var tenantId: String?
    /// From (inclusive) and to (exclusive), by the event's `occurred_at`.
    public var from: Timestamp?
    public var to: Timestamp?
    /// Where the previous page ended.
    public var before: AuditCursor?
    public var limit: Int

    public init(
        text: String? = nil, index: String? = nil, entityType: String? = nil, entityId: String? = nil,
        operation: String? = nil, tenantId: String? = nil, from: Timestamp? = nil, to: Timestamp? = nil,
        before: AuditCursor? = nil, limit: Int = 50
    ) {
        self.text = text
        self.index = index
        self.entityType = entityType
        self.entityId = entityId
        self.operation = operation
        self.tenantId = tenantId
        self.from = from
        self.to = to
        self.before = before
        self.limit = limit
    }
}

/// The position of an audit hit in the newest-first order: a page starts after it.
public struct AuditCursor: Sendable, Hashable {
    public var occurredAt: Timestamp
    public var eventId: UUID

    public init(occurredAt: Timestamp, eventId: UUID) {
        self.occurredAt = occurredAt
        self.eventId = eventId
    }

    /// `<microseconds>_<event id>`, as the API and the CLI pass it.
    public var text: String { "\(occurredAt.microsecondsSinceEpoch)_\(eventId.uuidString.lowercased())" }

    public init?(text: String) {
        let parts = text.split(separator: "_", maxSplits: 1)
        guard parts.count == 2, let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else {
            return nil
        }
        self.init(occurredAt: Timestamp(microsecondsSinceEpoch: micros), eventId: id)
    }
}
