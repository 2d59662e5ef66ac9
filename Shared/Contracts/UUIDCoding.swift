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

extension UUID {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The lower-case RFC 9562 text form, without Foundation's `snprintf` (hot paths: keys, JSON).
    public var lowercasedString: String {
        let bytes = withUnsafeBytes(of: uuid) { Array($0) }
        var text = [UInt8]()
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(Self.hexDigits[Int(byte >> 4)])
            text.append(Self.hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Parses the 36-character text form (either case) without Foundation's `sscanf`.
    public init?(text: String) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(16)
        var high: UInt8?
        var count = 0
        for (index, character) in text.utf8.enumerated() {
            count += 1
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard character == UInt8(ascii: "-") else { return nil }
                continue
            }
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = character - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let value = high {
                bytes.append(value << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard count == 36, bytes.count == 16 else { return nil }
        self.init(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}
