import CHiredis
import NIOCore

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
