import Foundation

/// The members of an event's top-level object that the decoders read.
enum EventFieldKey: Int, CaseIterable {
    case id, cursor, source, entityType, entityId, operation, before, after, changes, tenantId, occurredAt
    case schemaVersion, traceParent, imagesOmitted

    var key: StaticString {
        switch self {
        case .id: "id"
        case .cursor: "cursor"
        case .source: "source"
        case .entityType: "entity_type"
        case .entityId: "entity_id"
        case .operation: "operation"
        case .before: "before"
        case .after: "after"
        case .changes: "changes"
        case .tenantId: "tenant_id"
        case .occurredAt: "occurred_at"
        case .schemaVersion: "schema_version"
        case .traceParent: "trace_parent"
        case .imagesOmitted: "images_omitted"
        }
    }

    /// The field of a key's UTF-8 bytes (unescaped); nil for any other key. The length and the
    /// first byte pick the one candidate, compared byte for byte: no String per key.
    init?(_ key: UnsafeBufferPointer<UInt8>) {
        guard let first = key.first else { return nil }
        let candidate: EventFieldKey
        switch (key.count, first) {
        case (2, _): candidate = .id
        case (5, _): candidate = .after
        case (6, UInt8(ascii: "c")): candidate = .cursor
        case (6, UInt8(ascii: "s")): candidate = .source
        case (6, _): candidate = .before
        case (7, _): candidate = .changes
        case (9, UInt8(ascii: "e")): candidate = .entityId
        case (9, UInt8(ascii: "o")): candidate = .operation
        case (9, _): candidate = .tenantId
        case (11, UInt8(ascii: "e")): candidate = .entityType
        case (11, _): candidate = .occurredAt
        case (12, _): candidate = .traceParent
        case (14, UInt8(ascii: "s")): candidate = .schemaVersion
        case (14, _): candidate = .imagesOmitted
        default: return nil
        }
        let expected = candidate.key
        guard let bytes = key.baseAddress, expected.utf8CodeUnitCount == key.count,
            memcmp(expected.utf8Start, bytes, key.count) == 0
        else { return nil }
        self = candidate
    }

    var isRow: Bool { self == .before || self == .after || self == .changes }
}
