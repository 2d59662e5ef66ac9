import NIOCore

/// A pipelined request: one or more commands, already encoded by the caller (off the event
/// loop), whose replies complete one promise, in order.
struct RedisRequest {
    var bytes: ByteBuffer
    var count: Int
    var timeout: TimeAmount
    var promise: EventLoopPromise<[RESPValue]>

    init(commands: [RedisCommand], timeout: TimeAmount, promise: EventLoopPromise<[RESPValue]>) {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(48 * commands.count)
        for command in commands { command.encode(into: &encoded) }
        self.bytes = ByteBuffer(bytes: encoded)
        self.count = commands.count
        self.timeout = timeout
        self.promise = promise
    }
}

/// Encodes commands as RESP and matches replies to requests in order. Replies are parsed by
/// hiredis's reader. When a request times out the connection is closed (its later replies could
/// no longer be matched) and every pending request fails.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var count: Int
        var promise: EventLoopPromise<[RESPValue]>
        var timer: Scheduled<Void>?
    }

    /// Replies collected for the request at the head of `pending` (kept outside the buffer so
    /// appending never copies the array).
    private var headReplies: [RESPValue] = []
    private let parser = ReplyParser()
    private var pending = CircularBuffer<Pending>()
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(RedisError(code: .connection, message: "connection closed"))
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        let loop = context.eventLoop
        let timer = loop.assumeIsolated().scheduleTask(in: request.timeout) { [weak self] () -> Void in
            guard let self else { return }
            self.timedOut(request.promise)
        }
        pending.append(Pending(count: request.count, promise: request.promise, timer: timer))
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        do {
            try parser.feed(buffer)
            while let reply = try parser.next() {
                guard !pending.isEmpty else {
                    throw RedisError(code: .protocolError, message: "reply without a request")
                }
                if headReplies.isEmpty { headReplies.reserveCapacity(pending[pending.startIndex].count) }
                headReplies.append(reply)
                if headReplies.count == pending[pending.startIndex].count {
                    let done = pending.removeFirst()
                    done.timer?.cancel()
                    let replies = headReplies
                    headReplies = []
                    done.promise.succeed(replies)
                }
            }
        } catch {
            failAll(error as? RedisError ?? RedisError(code: .protocolError, message: "\(error)"))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError(code: .connection, message: "connection closed by the server"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(RedisError(code: .connection, message: "\(error)"))
        context.close(promise: nil)
    }

    private func timedOut(_ promise: EventLoopPromise<[RESPValue]>) {
        guard pending.contains(where: { $0.promise.futureResult === promise.futureResult }) else { return }
        failAll(RedisError(code: .timeout, message: "no reply within the command timeout"))
        context?.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        headReplies = []
        while let request = pending.popFirst() {
            request.timer?.cancel()
            request.promise.fail(error)
        }
    }
}
