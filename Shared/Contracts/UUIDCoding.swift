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
        try container.encodeIfPresent(imagesOmitted, forKey: .imagesOmitted)
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
    /// The lower-case RFC 9562 text form, without Foundation's `snprintf` (hot paths: keys, JSON):
    /// written straight into the string's storage.
    public var lowercasedString: String {
        withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { text in
                var position = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        text[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    text[position] = Self.hexDigit(bytes[index] >> 4)
                    text[position + 1] = Self.hexDigit(bytes[index] & 0x0f)
                    position += 2
                }
                return position
            }
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// Parses the 36-character text form (either case) without Foundation's `sscanf`.
    public init?(text: String) {
        var text = text
        guard let uuid = text.withUTF8({ UUID(utf8: $0) }) else { return nil }
        self = uuid
    }

    /// A UUID from the UTF-8 bytes of its 36-character text (hex digits in either case).
    public init?(utf8: UnsafeBufferPointer<UInt8>) {
        guard utf8.count == 36, let text = utf8.baseAddress else { return nil }
        let dash = UInt8(ascii: "-")
        guard text[8] == dash, text[13] == dash, text[18] == dash, text[23] == dash else { return nil }
        // The 32 digits into two 64-bit words; `invalid` collects any byte that is not a digit.
        var words: (UInt64, UInt64) = (0, 0)
        var invalid: UInt8 = 0
        var digits = 0
        for position in 0..<36 where position != 8 && position != 13 && position != 18 && position != 23 {
            let value = Self.hexValue(text[position])
            invalid |= value
            if digits < 16 {
                words.0 = words.0 << 4 | UInt64(value & 0x0F)
            } else {
                words.1 = words.1 << 4 | UInt64(value & 0x0F)
            }
            digits += 1
        }
        guard invalid & 0xF0 == 0 else { return nil }
        // Big-endian words are the UUID's 16 bytes in order; both types are 16 plain bytes.
        self.init(uuid: unsafeBitCast((words.0.bigEndian, words.1.bigEndian), to: uuid_t.self))
    }

    /// A hex digit's value, or 0xFF for any other byte.
    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> UInt8 {
        let digit = byte &- UInt8(ascii: "0")
        if digit < 10 { return digit }
        let letter = (byte | 0x20) &- UInt8(ascii: "a")
        if letter < 6 { return letter + 10 }
        return 0xFF
    }
}

extension UUID {
    /// A UUID from the first 16 bytes of a digest, with the RFC 9562 `version` (5 for a SHA-1
    /// name-based id, 8 for a custom one) and variant bits set: ids derived deterministically
    /// from what they name.
    @inlinable
    public init(digest: some Sequence<UInt8>, version: UInt8) {
        var bytes = Array(digest.prefix(16))
        bytes += Array(repeating: 0, count: 16 - bytes.count)
        bytes[6] = (bytes[6] & 0x0F) | (version << 4)
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        self.init(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}
