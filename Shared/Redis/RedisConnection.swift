import NIOCore

/// An open connection: its channel and its handler, which requests are handed to on the
/// channel's event loop (one `execute` per pipeline, no futures).
struct RedisConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<RedisChannelHandler>

    func send(_ commands: [RedisCommand], timeout: TimeAmount) async throws -> [RESPValue] {
        let bytes = RedisRequest.encode(commands)
        let count = commands.count
        let handler = self.handler
        return try await withUnsafeThrowingContinuation { continuation in
            let request = RedisRequest(bytes: bytes, count: count, timeout: timeout, continuation: continuation)
            if handler.eventLoop.inEventLoop {
                handler.value.send(request)
            } else {
                handler.eventLoop.execute { handler.value.send(request) }
            }
        }
    }
}
