import CHiredis
import NIOCore

/// A Redis reply.
public enum RESPValue: Sendable, Hashable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString([UInt8])
    case array([RESPValue])
    case null

    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes): String(decoding: bytes, as: UTF8.self)
        case .integer(let value): String(value)
        default: nil
        }
    }

    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .simpleString(let text): Array(text.utf8)
        default: nil
        }
    }

    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .bulkString, .simpleString: string.flatMap { Int64($0) }
        default: nil
        }
    }

    public var array: [RESPValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// An error reply (`-ERR …`, `-READONLY …`, `-OOM …`).
    public var isError: Bool {
        if case .error = self { return true }
        return false
    }
}

/// One argument of a command.
public enum RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case bytes([UInt8])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .string(String(value)) }
    public init(_ value: some BinaryInteger) { self = .string(String(value)) }
}

/// A command: name and arguments, e.g. `RedisCommand("SET", ["k", "v", "NX"])`.
public struct RedisCommand: Sendable, Hashable {
    public var name: String
    public var arguments: [RedisArgument]

    public init(_ name: String, _ arguments: [RedisArgument] = []) {
        self.name = name
        self.arguments = arguments
    }

    /// The size of the command as a RESP array of bulk strings.
    var encodedSize: Int {
        var size = 1 + Self.decimalDigits(arguments.count + 1) + 2 + Self.bulkSize(name.utf8.count)
        for argument in arguments {
            switch argument {
            case .string(let text): size += Self.bulkSize(text.utf8.count)
            case .bytes(let value): size += Self.bulkSize(value.count)
            }
        }
        return size
    }

    /// Writes the command as a RESP array of bulk strings at `offset` of a buffer holding at
    /// least `encodedSize` bytes from there; returns the offset after it.
    func encode(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var writer = RESPWriter(buffer: buffer, offset: offset)
        writer.byte(UInt8(ascii: "*"))
        writer.decimal(arguments.count + 1)
        writer.crlf()
        writer.bulk(name)
        for argument in arguments {
            switch argument {
            case .string(let text): writer.bulk(text)
            case .bytes(let value): value.withUnsafeBytes { writer.bulk($0) }
            }
        }
        return writer.offset
    }

    @inline(__always)
    private static func bulkSize(_ length: Int) -> Int { 1 + decimalDigits(length) + 2 + length + 2 }

    @inline(__always)
    static func decimalDigits(_ value: Int) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return digits
    }
}

/// Writes RESP into memory sized beforehand by `RedisCommand.encodedSize` (no bounds checks
/// per byte, no reallocation).
private struct RESPWriter {
    let buffer: UnsafeMutableRawBufferPointer
    var offset: Int

    @inline(__always)
    init(buffer: UnsafeMutableRawBufferPointer, offset: Int) {
        self.buffer = buffer
        self.offset = offset
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        buffer[offset] = value
        offset += 1
    }

    @inline(__always)
    mutating func crlf() {
        buffer[offset] = 13
        buffer[offset + 1] = 10
        offset += 2
    }

    @inline(__always)
    mutating func decimal(_ value: Int) {
        let digits = RedisCommand.decimalDigits(value)
        var rest = value
        var index = offset + digits - 1
        repeat {
            buffer[index] = UInt8(48 + rest % 10)
            rest /= 10
            index -= 1
        } while rest > 0
        offset += digits
    }

    @inline(__always)
    mutating func bulk(_ bytes: UnsafeRawBufferPointer) {
        byte(UInt8(ascii: "$"))
        decimal(bytes.count)
        crlf()
        if let base = bytes.baseAddress, bytes.count > 0 {
            (buffer.baseAddress! + offset).copyMemory(from: base, byteCount: bytes.count)
        }
        offset += bytes.count
        crlf()
    }

    @inline(__always)
    mutating func bulk(_ text: String) {
        var text = text
        text.withUTF8 { bulk(UnsafeRawBufferPointer($0)) }
    }
}

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
