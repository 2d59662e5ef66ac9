import Foundation

// UUIDs are written lower-case on the wire (RFC 9562 text form); Foundation's default is upper-case.
// Decoding accepts either case.
extension KeyedEncodingContainer {
    mutating func encodeUUID(_ value: UUID, forKey key: Key) throws {
        try encode(value.uuidString.lowercased(), forKey: key)
    }

    mutating func encodeUUIDIfPresent(_ value: UUID?, forKey key: Key) throws {
        if let value { try encodeUUID(value, forKey: key) }
    }
}

extension EntityEvent {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeUUID(id, forKey: .id)
        try container.encode(cursor, forKey: .cursor)
        try container.encode(source, forKey: .source)
        try container.encode(entityType, forKey: .entityType)
        try container.encode(entityId, forKey: .entityId)
        try container.encode(operation, forKey: .operation)
        try container.encodeIfPresent(before, forKey: .before)
        try container.encodeIfPresent(after, forKey: .after)
        try container.encodeIfPresent(changes, forKey: .changes)
        try container.encodeIfPresent(tenantId, forKey: .tenantId)
        try container.encode(occurredAt, forKey: .occurredAt)
        try container.encode(schemaVersion, forKey: .schemaVersion)
        try container.encodeIfPresent(traceParent, forKey: .traceParent)
    }
}

extension Job {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeUUID(id, forKey: .id)
        try container.encode(queue, forKey: .queue)
        try container.encode(kind, forKey: .kind)
        try container.encode(payload, forKey: .payload)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(maxAttempts, forKey: .maxAttempts)
        try container.encode(backoff, forKey: .backoff)
        try container.encode(enqueuedAt, forKey: .enqueuedAt)
        try container.encodeIfPresent(notBefore, forKey: .notBefore)
        try container.encodeUUIDIfPresent(sourceEventId, forKey: .sourceEventId)
        try container.encodeIfPresent(uniqueKey, forKey: .uniqueKey)
        try container.encodeIfPresent(timeoutMilliseconds, forKey: .timeoutMilliseconds)
    }
}

extension DeadLetter {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeUUID(id, forKey: .id)
        try container.encode(origin, forKey: .origin)
        try container.encode(payload, forKey: .payload)
        try container.encode(reason, forKey: .reason)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(firstFailedAt, forKey: .firstFailedAt)
        try container.encode(lastFailedAt, forKey: .lastFailedAt)
        try container.encode(lastError, forKey: .lastError)
        try container.encodeUUIDIfPresent(eventId, forKey: .eventId)
        try container.encodeIfPresent(handler, forKey: .handler)
    }
}
