import CHiredis
import NIOCore

/// hiredis's reply parser, fed with the bytes SwiftNIO receives. Confined to one event loop.
final class ReplyParser {
    private let reader: UnsafeMutablePointer<redisReader>
    private var sizeGuard = RESPSizeGuard()

    init() {
        self.reader = redisReaderCreate()
    }

    deinit {
        redisReaderFree(reader)
    }

    /// True when hiredis holds no bytes and no partly read reply.
    var isIdle: Bool {
        reader.pointee.ridx == -1 && reader.pointee.pos == reader.pointee.len
    }

    /// Reads one scalar reply (`+`, `-`, `:`, `$`) that lies complete in `buffer` without
    /// hiredis: the common replies of pipelines (`+OK`, integers, short bulk strings, nil) then
    /// cost no C allocation. Returns nil, consuming nothing, for aggregates, incomplete replies or
    /// anything unusual; those go to hiredis. Only valid while `isIdle`.
    static func scalarReply(from buffer: inout ByteBuffer) -> RESPValue? {
        let parsed: (RESPValue, Int)? = buffer.withUnsafeReadableBytes { bytes in
            guard bytes.count >= 3 else { return nil }
            guard let lineEnd = lineEnd(in: bytes, from: 1) else { return nil }
            let line = UnsafeRawBufferPointer(rebasing: bytes[1..<lineEnd])
            switch bytes[0] {
            case UInt8(ascii: "+"):
                return (.simpleString(String(decoding: line, as: UTF8.self)), lineEnd + 2)
            case UInt8(ascii: "-"):
                return (.error(String(decoding: line, as: UTF8.self)), lineEnd + 2)
            case UInt8(ascii: ":"):
                guard let value = integer(line) else { return nil }
                return (.integer(value), lineEnd + 2)
            case UInt8(ascii: "$"):
                guard let length = integer(line) else { return nil }
                if length == -1 { return (.null, lineEnd + 2) }
                let start = lineEnd + 2
                guard length >= 0, bytes.count >= start + Int(length) + 2 else { return nil }
                let end = start + Int(length)
                guard bytes[end] == 13, bytes[end + 1] == 10 else { return nil }
                return (.bulkString(Array(bytes[start..<end])), end + 2)
            default:
                return nil
            }
        }
        guard let (value, consumed) = parsed else { return nil }
        buffer.moveReaderIndex(forwardBy: consumed)
        return value
    }

    /// The index of the `\r` of the first CRLF at or after `start`.
    private static func lineEnd(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == 13 { return bytes[index + 1] == 10 ? index : nil }
            index += 1
        }
        return nil
    }

    /// A decimal integer with an optional minus sign; nil if empty, not decimal or over 18 digits.
    private static func integer(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard !bytes.isEmpty else { return nil }
        let negative = bytes[0] == UInt8(ascii: "-")
        let digits = negative ? UnsafeRawBufferPointer(rebasing: bytes[1...]) : bytes
        // 18 digits cannot overflow; longer numbers are left to hiredis.
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= 48, byte <= 57 else { return nil }
            value = value * 10 + Int64(byte - 48)
        }
        return negative ? -value : value
    }

    func feed(_ buffer: ByteBuffer) throws(RedisError) {
        try buffer.withUnsafeReadableBytes { bytes throws(RedisError) in try sizeGuard.check(bytes) }
        let status = buffer.withUnsafeReadableBytes { bytes in
            redisReaderFeed(reader, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        guard status == REDIS_OK else { throw protocolError() }
    }

    /// The next complete reply, or nil when more bytes are needed.
    func next() throws(RedisError) -> RESPValue? {
        var reply: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &reply) == REDIS_OK else { throw protocolError() }
        guard let reply else { return nil }
        defer { freeReplyObject(reply) }
        return Self.convert(reply.assumingMemoryBound(to: redisReply.self))
    }

    private func protocolError() -> RedisError {
        let message = withUnsafeBytes(of: reader.pointee.errstr) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return RedisError(code: .protocolError, message: message)
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let value = reply.pointee
        func withText<T>(_ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
            guard let pointer = value.str else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
            return pointer.withMemoryRebound(to: UInt8.self, capacity: value.len) {
                body(UnsafeBufferPointer(start: $0, count: value.len))
            }
        }
        switch value.type {
        case REDIS_REPLY_STRING: return .bulkString(withText { Array($0) })
        case REDIS_REPLY_STATUS: return .simpleString(withText { String(decoding: $0, as: UTF8.self) })
        case REDIS_REPLY_ERROR: return .error(withText { String(decoding: $0, as: UTF8.self) })
        case REDIS_REPLY_INTEGER: return .integer(value.integer)
        case REDIS_REPLY_ARRAY:
            return .array((0..<value.elements).map { index in convert(value.element[index]!) })
        default: return .null
        }
    }
}
