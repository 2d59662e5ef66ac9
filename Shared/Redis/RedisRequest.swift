import NIOCore

/// A pipelined request: one or more commands, already encoded by the caller (off the event
/// loop), whose replies resume one continuation, in order.
struct RedisRequest: Sendable {
    var bytes: ByteBuffer
    var count: Int
    var timeout: TimeAmount
    var continuation: UnsafeContinuation<[RESPValue], any Error>

    /// The commands as RESP, in one buffer of exactly their size.
    static func encode(_ commands: [RedisCommand]) -> ByteBuffer {
        var size = 0
        for command in commands { size += command.encodedSize }
        var bytes = ByteBufferAllocator().buffer(capacity: size)
        bytes.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { memory in
            var offset = 0
            for command in commands { offset = command.encode(into: memory, at: offset) }
            return offset
        }
        return bytes
    }
}
