/// A cursor over a binlog event's bytes (the replication protocol's integers are little-endian
/// unless a column type says otherwise). Every read is bounds-checked: a short or corrupt event
/// throws ``BinlogDecodingError``, never traps.
struct BinlogBytes {
    let bytes: [UInt8]
    var offset: Int
    let end: Int

    init(_ bytes: [UInt8], from offset: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = min(end ?? bytes.count, bytes.count)
    }

    var remaining: Int { end - offset }
    var isAtEnd: Bool { offset >= end }

    mutating func need(_ count: Int) throws(BinlogDecodingError) {
        guard count >= 0, count <= remaining else {
            throw BinlogDecodingError("event ends early: \(count) bytes wanted at offset \(offset), \(remaining) left")
        }
    }

    mutating func byte() throws(BinlogDecodingError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    /// `count` bytes little-endian, unsigned.
    mutating func little(_ count: Int) throws(BinlogDecodingError) -> UInt64 {
        try need(count)
        var value: UInt64 = 0
        for index in 0..<count { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        offset += count
        return value
    }

    /// `count` bytes big-endian, unsigned.
    mutating func big(_ count: Int) throws(BinlogDecodingError) -> UInt64 {
        try need(count)
        var value: UInt64 = 0
        for index in 0..<count { value = value << 8 | UInt64(bytes[offset + index]) }
        offset += count
        return value
    }

    mutating func take(_ count: Int) throws(BinlogDecodingError) -> ArraySlice<UInt8> {
        try need(count)
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func skip(_ count: Int) throws(BinlogDecodingError) {
        try need(count)
        offset += count
    }

    /// A length-encoded integer.
    mutating func lengthEncoded() throws(BinlogDecodingError) -> UInt64 {
        let first = try byte()
        switch first {
        case 0..<0xFB: return UInt64(first)
        case 0xFC: return try little(2)
        case 0xFD: return try little(3)
        case 0xFE: return try little(8)
        default: throw BinlogDecodingError("invalid length-encoded integer 0x\(String(first, radix: 16))")
        }
    }

    /// A length-encoded count, bounded by what is left (a corrupt length never allocates).
    mutating func count() throws(BinlogDecodingError) -> Int {
        let value = try lengthEncoded()
        guard value <= UInt64(remaining) * 8 + 64 else { throw BinlogDecodingError("implausible count \(value)") }
        return Int(value)
    }

    /// A length-encoded string (UTF-8).
    mutating func lengthEncodedString() throws(BinlogDecodingError) -> String {
        let length = try count()
        return String(decoding: try take(length), as: UTF8.self)
    }

    /// A bitmap of `bits` bits, least significant bit first in each byte.
    mutating func bitmap(_ bits: Int) throws(BinlogDecodingError) -> [Bool] {
        let slice = try take((bits + 7) / 8)
        return (0..<bits).map { slice[slice.startIndex + $0 / 8] & (1 << UInt8($0 % 8)) != 0 }
    }
}

/// A binlog event that cannot be decoded (corrupt, truncated, or of a form not supported).
struct BinlogDecodingError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
