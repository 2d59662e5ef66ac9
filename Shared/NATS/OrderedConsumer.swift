import CNATS
import Contracts
import Foundation
import Runtime

/// An ordered consumer: ephemeral, no acks, delivered in stream order, gaps repaired by the
/// library (it recreates the consumer after the last sequence it delivered).
///
/// Asynchronous: libnats delivers the messages to a callback on the subscription's own delivery
/// thread, which buffers them here; ``next(max:timeout:)`` waits without holding any thread.
/// Back-pressure: when `bufferBytes` are waiting, the callback holds its (libnats-owned) thread
/// until the reader takes some. libnats then delays the consumer's flow-control replies and the
/// server stops sending, so a slow reader costs bounded memory, never an unbounded buffer.
/// ``close()`` deletes the consumer on the server and releases a held callback at once.
public final class OrderedConsumer: Sendable {
    private let core: OrderedCore
    private let subscription: OrderedSubscriptionHandle

    init(
        jetStream: JetStream, subject: String, start: OrderedStart, bufferBytes: Int, headers: Bool, subjects: Bool
    ) throws(NATSError) {
        let core = OrderedCore(
            connection: jetStream.connection, bufferBytes: max(1, bufferBytes), headers: headers, subjects: subjects)
        var options = jsSubOptions()
        jsSubOptions_Init(&options)
        options.Ordered = true
        switch start {
        case .all: options.Config.DeliverPolicy = js_DeliverAll
        case .new: options.Config.DeliverPolicy = js_DeliverNew
        case .sequence(let sequence):
            options.Config.DeliverPolicy = js_DeliverByStartSequence
            options.Config.OptStartSeq = sequence
        case .time(let nanoseconds):
            options.Config.DeliverPolicy = js_DeliverByStartTime
            options.Config.OptStartTime = nanoseconds
        }
        // Retained for the C library until the subscription's completion callback, which
        // libnats calls once, after the last message callback.
        let retained = Unmanaged.passRetained(core)
        var handle: OpaquePointer?
        var error = jsErrCode(0)
        let status = js_Subscribe(
            &handle, jetStream.handle, subject,
            { _, _, message, closure in
                guard let message else { return }
                guard let closure else {
                    natsMsg_Destroy(message)
                    return
                }
                Unmanaged<OrderedCore>.fromOpaque(closure).takeUnretainedValue().received(message)
            }, retained.toOpaque(), nil, &options, &error)
        guard status == NATS_OK, let handle else {
            retained.release()
            throw NATSError(status: status, operation: "ordered subscribe \(subject)", jsError: error)
        }
        let completion = natsSubscription_SetOnCompleteCB(
            handle,
            { closure in
                guard let closure else { return }
                Unmanaged<OrderedCore>.fromOpaque(closure).release()
            }, retained.toOpaque())
        guard completion == NATS_OK else {
            // Gone already (the connection closed meanwhile): no callback will come. The core
            // stays retained (a small leak, never a use after free).
            natsSubscription_Destroy(handle)
            throw NATSError(status: completion, operation: "set up the ordered consumer")
        }
        // No client-side limit: past one, libnats drops messages after the ordered consumer's
        // sequence check, which would leave gaps. The server's flow control bounds what waits
        // here (it stops until the reader has taken what came before).
        natsSubscription_SetPendingLimits(handle, -1, -1)
        self.core = core
        self.subscription = OrderedSubscriptionHandle(handle)
    }

    /// Up to `max` messages in stream order, waiting at most `timeout` for the first; empty when
    /// none came, after ``close()``, or when the task is cancelled.
    public func next(max: Int, timeout: Duration) async throws -> [JetStreamMessage] {
        try await core.next(max: max, timeout: timeout)
    }

    /// The next message, or nil when none came within `timeout`.
    public func next(timeout: Duration) async throws -> JetStreamMessage? {
        try await next(max: 1, timeout: timeout).first
    }

    /// Messages and bytes waiting to be taken.
    public var buffered: (messages: Int, bytes: Int) { core.buffered }

    /// The server's view of the consumer: its name (a new one after the library repaired a
    /// gap), the messages matching it not yet sent, and the consumer sequence of the last one
    /// sent. With nothing pending, nothing buffered and that last message taken (same consumer
    /// name and sequence in its metadata), a reader has everything the stream held for it.
    public func progress() async throws -> (consumer: String, pending: UInt64, lastDelivered: UInt64) {
        let subscription = self.subscription
        return try await Blocking.run { () throws -> (String, UInt64, UInt64) in
            var info: UnsafeMutablePointer<jsConsumerInfo>?
            var error = jsErrCode(0)
            try NATSError.check(
                natsSubscription_GetConsumerInfo(&info, subscription.handle, nil, &error), "consumer info",
                jsError: error)
            defer { jsConsumerInfo_Destroy(info) }
            let name = info!.pointee.Name.map { String(cString: $0) } ?? ""
            return (name, info!.pointee.NumPending, info!.pointee.Delivered.Consumer)
        }
    }

    /// Stops delivery, drops what is buffered and deletes the consumer on the server. Safe to call
    /// more than once; also done when the consumer is released.
    public func close() {
        core.close()
        subscription.unsubscribe()
    }

    /// The same as ``close()``.
    public func unsubscribe() { close() }

    deinit { close() }
}

/// Owns the `natsSubscription` handle.
///
/// `@unchecked Sendable`: libnats's subscription calls are thread-safe; the handle is only
/// unsubscribed (idempotent) and destroyed in `deinit`.
private final class OrderedSubscriptionHandle: @unchecked Sendable {
    let handle: OpaquePointer
    init(_ handle: OpaquePointer) { self.handle = handle }
    func unsubscribe() { _ = natsSubscription_Unsubscribe(handle) }
    deinit { natsSubscription_Destroy(handle) }
}

/// The buffer shared by the delivery thread and the reader.
///
/// `@unchecked Sendable`: every stored property but the constants and `lastMetadata` is only
/// touched with `condition` locked; `lastMetadata` only on the delivery thread.
final class OrderedCore: @unchecked Sendable {
    private let condition = NSCondition()
    private var buffer: [JetStreamMessage] = []
    private var start = 0
    private var bytes = 0
    private var closed = false
    private let wakeup = Wakeup()
    /// The metadata of the last message delivered: only the delivery thread touches it (libnats
    /// calls a subscription's callback on one thread, one message at a time).
    private var lastMetadata: MessageMetadata?
    let connection: NATSConnection
    let bufferBytes: Int
    let headers: Bool
    let subjects: Bool

    init(connection: NATSConnection, bufferBytes: Int, headers: Bool, subjects: Bool) {
        self.connection = connection
        self.bufferBytes = bufferBytes
        self.headers = headers
        self.subjects = subjects
    }

    var buffered: (messages: Int, bytes: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (buffer.count - start, bytes)
    }

    /// On the subscription's delivery thread: holds it while the buffer is full.
    func received(_ handle: OpaquePointer) {
        let message = JetStreamMessage(
            taking: handle, connection: connection, headers: headers, subject: subjects, acknowledgeable: false,
            previous: lastMetadata)
        lastMetadata = message.metadata ?? lastMetadata
        let size = message.payload.count + 64
        condition.lock()
        while !closed && bytes >= bufferBytes { condition.wait() }
        if closed {
            condition.unlock()
            return
        }
        buffer.append(message)
        bytes += size
        // The reader is woken for a batch, not for each message (a wake-up per message costs a
        // context switch each while a backlog streams in): once `wakeBatch` messages wait, when
        // the buffer is full (this thread waits for the reader next), or at the last message the
        // server has for now. A backlog that pauses short of these is taken at the reader's timeout.
        let unread = buffer.count - start
        let wake = unread >= Self.wakeBatch || bytes >= bufferBytes || (message.metadata?.pending ?? 0) == 0
        condition.unlock()
        if wake { wakeup.signal() }
    }

    /// Messages waiting before the reader is woken during a backlog.
    static let wakeBatch = 256

    func close() {
        condition.lock()
        closed = true
        buffer = []
        start = 0
        bytes = 0
        condition.broadcast()
        condition.unlock()
        wakeup.signal()
    }

    func next(max: Int, timeout: Duration) async throws -> [JetStreamMessage] {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let taken = take(max) { return taken }
            let now = ContinuousClock.now
            if now >= deadline || Task.isCancelled { return [] }
            await wakeup.wait(timeout: deadline - now)
        }
    }

    /// Up to `max` messages, empty once closed, nil when there is nothing yet.
    private func take(_ max: Int) -> [JetStreamMessage]? {
        condition.lock()
        defer { condition.unlock() }
        if closed { return [] }
        guard start < buffer.count else { return nil }
        let end = Swift.min(buffer.count, start + max)
        let taken: [JetStreamMessage]
        if start == 0 && end == buffer.count {
            // All of it: the array itself changes hands (no copy, no retain and release per message).
            taken = buffer
            buffer = []
            buffer.reserveCapacity(taken.count)
        } else {
            taken = Array(buffer[start..<end])
        }
        start = end
        for message in taken { bytes -= message.payload.count + 64 }
        if start >= buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 4096 {
            buffer.removeFirst(start)
            start = 0
        }
        condition.broadcast()
        return taken
    }
}
