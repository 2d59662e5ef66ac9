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
    public var arguments: [RedisArgument]

    public init(_ name: String, _ arguments: [RedisArgument] = []) {
        self.arguments = [.string(name)] + arguments
    }

    /// Encodes as a RESP array of bulk strings.
    func encode(into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "*"))
        Self.appendDecimal(arguments.count, to: &bytes)
        bytes.append(13)
        bytes.append(10)
        for argument in arguments {
            switch argument {
            case .string(let text):
                var text = text
                text.withUTF8 { utf8 in
                    Self.appendBulkHeader(utf8.count, to: &bytes)
                    bytes.append(contentsOf: utf8)
                }
            case .bytes(let value):
                Self.appendBulkHeader(value.count, to: &bytes)
                bytes.append(contentsOf: value)
            }
            bytes.append(13)
            bytes.append(10)
        }
    }

    @inline(__always)
    private static func appendBulkHeader(_ length: Int, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "$"))
        appendDecimal(length, to: &bytes)
        bytes.append(13)
        bytes.append(10)
    }

    /// Appends a non-negative integer in decimal without allocating a String.
    @inline(__always)
    static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        if value < 10 {
            bytes.append(UInt8(48 + value))
            return
        }
        var divisor = 10
        while divisor <= value / 10 { divisor *= 10 }
        var remaining = value
        while divisor > 0 {
            bytes.append(UInt8(48 + remaining / divisor))
            remaining %= divisor
            divisor /= 10
        }
    }
}

/// hiredis's reply parser, fed with the bytes SwiftNIO receives. Confined to one event loop.
final class ReplyParser {
    private let reader: UnsafeMutablePointer<redisReader>

    init() {
        self.reader = redisReaderCreate()
    }

    deinit {
        redisReaderFree(reader)
    }

    func feed(_ buffer: ByteBuffer) throws(RedisError) {
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
