import Foundation

/// The kind of row change.
public enum Operation: String, Codable, Hashable, Sendable, CaseIterable {
    case insert
    case update
    case delete
}

/// One field's change in an update: its value before and after.
public struct FieldChange: Codable, Hashable, Sendable {
    public var old: JSONValue
    public var new: JSONValue

    public init(old: JSONValue, new: JSONValue) {
        self.old = old
        self.new = new
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // A JSON `null` is a value here (a column set to NULL), not an absent key.
        self.old = try container.decodeIfPresent(JSONValue.self, forKey: .old) ?? .null
        self.new = try container.decodeIfPresent(JSONValue.self, forKey: .new) ?? .null
    }
}

/// One committed row change, as published on `entity.change.<entity>.<op>`.
///
/// `id` is assigned when the change is captured (by the change-log trigger), never at publish
/// time, so every copy of a republished row carries the same id (`Nats-Msg-Id`, worker dedup).
public struct EntityEvent: Codable, Hashable, Sendable {
    public var id: UUID
    /// The source's monotonic position: change-log id, sequence, or Change Tracking version.
    public var cursor: Int64
    /// The bridge's transport name (`pg-main`).
    public var source: String
    public var entityType: String
    public var entityId: String
    public var operation: Operation
    public var before: [String: JSONValue]?
    public var after: [String: JSONValue]?
    public var changes: [String: FieldChange]?
    public var tenantId: String?
    /// Commit time of the change.
    public var occurredAt: Timestamp
    public var schemaVersion: Int
    /// W3C trace context (`traceparent`), also carried as a NATS header.
    public var traceParent: String?
    /// True when the bridge left `before`, `after` and `changes` out because the event was larger
    /// than the server takes (`bridge.oversized = "omit_images"`): read the row from the source
    /// by `entity_id`. Absent otherwise.
    public var imagesOmitted: Bool?

    public init(
        id: UUID, cursor: Int64, source: String, entityType: String, entityId: String, operation: Operation,
        before: [String: JSONValue]? = nil, after: [String: JSONValue]? = nil,
        changes: [String: FieldChange]? = nil, tenantId: String? = nil, occurredAt: Timestamp,
        schemaVersion: Int = WireFormat.entityEventSchemaVersion, traceParent: String? = nil,
        imagesOmitted: Bool? = nil
    ) {
        self.imagesOmitted = imagesOmitted
        self.id = id
        self.cursor = cursor
        self.source = source
        self.entityType = entityType
        self.entityId = entityId
        self.operation = operation
        self.before = before
        self.after = after
        self.changes = changes
        self.tenantId = tenantId
        self.occurredAt = occurredAt
        self.schemaVersion = schemaVersion
        self.traceParent = traceParent
    }

    enum CodingKeys: String, CodingKey {
        case id, cursor, source, operation, before, after, changes
        case entityType = "entity_type"
        case entityId = "entity_id"
        case tenantId = "tenant_id"
        case occurredAt = "occurred_at"
        case schemaVersion = "schema_version"
        case traceParent = "trace_parent"
        case imagesOmitted = "images_omitted"
    }

    /// Field-level differences between `before` and `after` (keys whose values differ, including
    /// keys present on one side only, where the missing side is `null`).
    public static func diff(before: [String: JSONValue], after: [String: JSONValue]) -> [String: FieldChange] {
        var changes: [String: FieldChange] = [:]
        for key in Set(before.keys).union(after.keys) {
            let old = before[key] ?? .null
            let new = after[key] ?? .null
            if old != new { changes[key] = FieldChange(old: old, new: new) }
        }
        return changes
    }
}
