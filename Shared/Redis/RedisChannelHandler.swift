import NIOCore

/// Writes requests and matches replies to them in order. Replies are parsed by hiredis's reader,
/// except complete scalar replies, read in Swift. When a request times out the connection is
/// closed (its later replies could no longer be matched) and every pending request fails.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var count: Int
        var continuation: UnsafeContinuation<[RESPValue], any Error>
        var deadline: NIODeadline
    }

    /// Replies collected for the request at the head of `pending` (kept outside the buffer so
    /// appending never copies the array).
    private var headReplies: [RESPValue] = []
    private let parser = ReplyParser()
    private var pending = CircularBuffer<Pending>()
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    /// Set once the connection is closing: later requests fail at once.
    private var isClosing = false
    /// One timer for the whole connection, set for the earliest deadline of the pending
    /// requests (re-armed when it fires), instead of a timer per request.
    private var timer: (deadline: NIODeadline, task: Scheduled<Void>)?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        close(RedisError(code: .connection, message: "connection closed"))
        self.context = nil
    }

    /// Sends a request; called on the channel's event loop.
    func send(_ request: RedisRequest) {
        guard let context, !isClosing else {
            request.continuation.resume(throwing: RedisError(code: .connection, message: "connection closed"))
            return
        }
        let deadline = NIODeadline.now() + request.timeout
        pending.append(Pending(count: request.count, continuation: request.continuation, deadline: deadline))
        if timer == nil || deadline < timer!.deadline { arm(at: deadline, context: context) }
        context.write(wrapOutboundOut(request.bytes), promise: nil)
        // One flush (one write system call) for all the requests handed over in this tick of the
        // event loop: concurrent callers' pipelines coalesce.
        if !flushScheduled {
            flushScheduled = true
            context.eventLoop.assumeIsolated().execute { [self] in
                flushScheduled = false
                self.context?.flush()
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        // The head request's replies and size live in locals while this read is parsed (one
        // access to the handler's state per read, not per reply).
        var replies: [RESPValue] = []
        swap(&replies, &headReplies)
        var expected = pending.first?.count ?? 0
        func deliver(_ reply: RESPValue) throws(RedisError) {
            guard expected > 0 else { throw RedisError(code: .protocolError, message: "reply without a request") }
            if replies.isEmpty { replies.reserveCapacity(expected) }
            replies.append(reply)
            if replies.count == expected {
                let done = pending.removeFirst()
                done.continuation.resume(returning: replies)
                replies = []
                expected = pending.first?.count ?? 0
            }
        }
        do {
            while buffer.readableBytes > 0 {
                if parser.isIdle, let reply = ReplyParser.scalarReply(from: &buffer) {
                    try deliver(reply)
                    continue
                }
                try parser.feed(buffer)
                buffer.moveReaderIndex(to: buffer.writerIndex)
                while let reply = try parser.next() { try deliver(reply) }
            }
            headReplies = replies
        } catch {
            close(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        close(RedisError(code: .connection, message: "connection closed by the server"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(RedisError(code: .connection, message: "\(error)"))
    }

    private func arm(at deadline: NIODeadline, context: ChannelHandlerContext) {
        timer?.task.cancel()
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] () -> Void in
            self?.timerFired()
        }
        timer = (deadline, task)
    }

    private func timerFired() {
        timer = nil
        guard let context, let earliest = pending.lazy.map(\.deadline).min() else { return }
        if earliest <= .now() {
            close(RedisError(code: .timeout, message: "no reply within the command timeout"))
        } else {
            arm(at: earliest, context: context)
        }
    }

    /// Fails every pending request and closes the channel; the client opens a new one.
    private func close(_ error: RedisError) {
        let wasClosing = isClosing
        isClosing = true
        headReplies = []
        timer?.task.cancel()
        timer = nil
        while let request = pending.popFirst() {
            request.continuation.resume(throwing: error)
        }
        if !wasClosing { context?.close(promise: nil) }
    }
}
