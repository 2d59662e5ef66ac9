import CHiredis
import NIOCore

/// Writes RESP into memory sized beforehand by `RedisCommand.encodedSize` (no bounds checks
/// per byte, no reallocation).
struct RESPWriter {
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
