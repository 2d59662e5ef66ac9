import CNATS
import Contracts
import Foundation
import Synchronization

/// A continuous pull from a durable pull consumer: the JetStream pull protocol spoken directly
/// (libnats 3.4 has no asynchronous pull). Pull requests (`$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`)
/// are published with a private inbox as their reply subject, and the server streams the
/// messages to that inbox, where the library's delivery thread buffers them. Up to `window`
/// messages are kept requested or buffered ahead of the caller, and a new request goes out as
/// soon as a quarter of the window is free: the next batch is usually here before the caller
/// asks for it, instead of one fetch round trip per batch.
///
/// Requests expire after `expires`; the server then answers with a `408` carrying the number of
/// messages it still owed, which frees that part of the window. Requests lost with a connection
/// (a NATS restart) are written off when the connection is restored, and in any case when
/// nothing answered for `expires` plus two seconds.
/// Messages delivered to a closed pull are NAKed, so another worker gets them at once (and the
/// server drops requests whose inbox has no subscriber any more).
public final class ContinuousPull: Sendable {
    private let core: PullCore
    private let subscription: SubscriptionHandle

    init(
        connection: NATSConnection, stream: String, consumer: String, window: Int, expires: Duration, headers: Bool
    ) throws(NATSError) {
        var inbox: UnsafeMutablePointer<natsInbox>?
        try NATSError.check(natsInbox_Create(&inbox), "create inbox")
        let inboxName = String(cString: inbox!)
        natsInbox_Destroy(inbox)
        let core = PullCore(
            connection: connection, inbox: inboxName, requestSubject: "$JS.API.CONSUMER.MSG.NEXT.\(stream).\(consumer)",
            window: max(1, window), expires: expires, copyHeaders: headers)
        // The core is retained for the C library until the subscription's completion callback,
        // which libnats calls once, after the last message callback.
        let retained = Unmanaged.passRetained(core)
        var handle: OpaquePointer?
        let status = natsConnection_Subscribe(
            &handle, connection.handle, inboxName,
            { _, _, message, closure in
                guard let message else { return }
                guard let closure else {
                    natsMsg_Destroy(message)
                    return
                }
                Unmanaged<PullCore>.fromOpaque(closure).takeUnretainedValue().received(message)
            }, retained.toOpaque())
        guard status == NATS_OK, let handle else {
            retained.release()
            throw NATSError(status: status, operation: "subscribe to the pull inbox")
        }
        let completion = natsSubscription_SetOnCompleteCB(
            handle,
            { closure in
                guard let closure else { return }
                Unmanaged<PullCore>.fromOpaque(closure).release()
            }, retained.toOpaque())
        guard completion == NATS_OK else {
            // The subscription is already gone (the connection closed meanwhile): no callback
            // will come. The core stays retained (a leak of one small object, never a use after
            // free: a message callback may still be running).
            natsSubscription_Destroy(handle)
            throw NATSError(status: completion, operation: "set up the pull inbox")
        }
        // No client-side limit below the window: the server never sends more than was requested.
        natsSubscription_SetPendingLimits(handle, -1, -1)
        self.core = core
        self.subscription = SubscriptionHandle(handle)
        core.refill()
    }

    /// Up to `max` buffered messages, waiting at most `timeout` for the first; empty when none
    /// came. Throws what the server or the connection reported since the last call (a deleted
    /// consumer, a failed request publish). One caller at a time.
    public func next(max: Int, timeout: Duration) async throws -> [JetStreamMessage] {
        try await core.next(max: max, timeout: timeout)
    }

    /// Messages requested and not yet delivered, and messages delivered and not yet taken.
    public var outstanding: (requested: Int, buffered: Int) { core.outstanding }

    /// Stops pulling and ends a wait in `next` at once, keeping what is buffered for
    /// `takeBuffered` (messages that arrive later are NAKed). `close` still has to follow.
    public func stop() {
        core.stop()
    }

    /// Takes the buffered messages out of the pull (the caller settles them).
    public func takeBuffered() -> [JetStreamMessage] {
        core.takeBuffered()
    }

    /// Stops pulling: no more requests; buffered messages, and those the library still holds
    /// for the callback (the subscription is drained, not dropped), are NAKed so the server hands
    /// them to another worker at once. Safe to call more than once.
    public func close() {
        for message in core.close() { try? message.nak() }
        subscription.drain()
    }

    /// Sends an in-progress ack (`+WPI`) for each message buffered longer than `age`, so that
    /// messages waiting here for a free slot are not redelivered to another worker meanwhile
    /// (the server's ack timer runs from delivery). Call it more often than `ack_wait` / 2.
    public func keepBufferedAlive(olderThan age: Duration) {
        for message in core.stale(olderThan: age) { try? message.inProgress() }
    }

    deinit {
        close()
    }
}

/// Owns the `natsSubscription` handle.
///
/// `@unchecked Sendable`: the handle is thread-safe in libnats; it is only drained (idempotent)
/// and destroyed in `deinit`.
private final class SubscriptionHandle: @unchecked Sendable {
    let handle: OpaquePointer
    init(_ handle: OpaquePointer) { self.handle = handle }
    /// Unsubscribes after the messages already received were handed to the callback.
    func drain() { _ = natsSubscription_Drain(handle) }
    deinit { natsSubscription_Destroy(handle) }
}

/// The state of a continuous pull, shared by the caller and the library's delivery thread.
final class PullCore: Sendable {
    private struct State {
        /// Delivered, not taken yet; with when each arrived or was last kept alive.
        var buffer: [(message: JetStreamMessage, arrived: ContinuousClock.Instant)] = []
        /// Messages requested and neither delivered nor given up by the server.
        var requested = 0
        var lastRequest = ContinuousClock.now
        var lastAnswer = ContinuousClock.now
        /// The connection's reconnect count when the requests counted in `requested` were made.
        var reconnects = 0
        /// No request before this: set after a status that wrote every request off (a deleted
        /// consumer, a leader election, no responders), so that the server is not asked again
        /// at once in a loop.
        var pausedUntil: ContinuousClock.Instant?
        var waiter: (id: Int, continuation: CheckedContinuation<Void, Never>)?
        var nextWaiter = 0
        var failure: NATSError?
        var closed = false
    }

    private let state = Mutex(State())
    let connection: NATSConnection
    let inbox: String
    let requestSubject: String
    let window: Int
    let expires: Duration
    let copyHeaders: Bool

    init(
        connection: NATSConnection, inbox: String, requestSubject: String, window: Int, expires: Duration,
        copyHeaders: Bool
    ) {
        self.copyHeaders = copyHeaders
        self.connection = connection
        self.inbox = inbox
        self.requestSubject = requestSubject
        self.window = window
        self.expires = expires
    }

    var outstanding: (requested: Int, buffered: Int) { state.withLock { ($0.requested, $0.buffer.count) } }

    func close() -> [JetStreamMessage] {
        stop()
        return takeBuffered()
    }

    func stop() {
        let waiter = state.withLock { state in
            state.closed = true
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.continuation.resume()
    }

    func takeBuffered() -> [JetStreamMessage] {
        state.withLock { state in
            let buffer = state.buffer.map(\.message)
            state.buffer = []
            return buffer
        }
    }

    /// The buffered messages that arrived (or were kept alive) more than `age` ago; their time
    /// starts again now.
    func stale(olderThan age: Duration) -> [JetStreamMessage] {
        state.withLock { state in
            let now = ContinuousClock.now
            var stale: [JetStreamMessage] = []
            for index in state.buffer.indices where now - state.buffer[index].arrived > age {
                stale.append(state.buffer[index].message)
                state.buffer[index].arrived = now
            }
            return stale
        }
    }

    /// On the library's delivery thread: a message, or a status from the server about a request.
    func received(_ handle: OpaquePointer) {
        var status: UnsafePointer<CChar>?
        guard natsMsgHeader_Get(handle, "Status", &status) == NATS_OK, let status else {
            let message = JetStreamMessage(taking: handle, connection: connection, headers: copyHeaders)
            let (accepted, waiter) = state.withLock { state in
                state.requested = max(0, state.requested - 1)
                state.lastAnswer = .now
                if state.closed { return (false, nil as CheckedContinuation<Void, Never>?) }
                state.buffer.append((message, .now))
                let waiter = state.waiter?.continuation
                state.waiter = nil
                return (true, waiter)
            }
            // Arrived after close: back to the server at once, for another worker.
            if !accepted { try? message.nak() }
            waiter?.resume()
            return
        }
        let code = String(cString: status)
        var pending: UnsafePointer<CChar>?
        let owed =
            natsMsgHeader_Get(handle, "Nats-Pending-Messages", &pending) == NATS_OK
            ? pending.flatMap { Int(String(cString: $0)) } : nil
        var description: UnsafePointer<CChar>?
        let text =
            natsMsgHeader_Get(handle, "Description", &description) == NATS_OK
            ? description.map { String(cString: $0) } ?? "" : ""
        natsMsg_Destroy(handle)
        if code == "100" { return }  // idle heartbeat (not requested; harmless)
        let (waiter, counted) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Bool) in
            state.lastAnswer = .now
            if let owed {
                // 408 Request Timeout (or Interest Expired), 409 Message Size Exceeds MaxBytes:
                // the request is over and the rest of it will not come.
                state.requested = max(0, state.requested - owed)
            } else {
                // 409 Consumer Deleted, 409 Leadership Change, 409 Exceeded MaxWaiting, 503 No
                // Responders, …: no count comes with these (and one comes per request). Every
                // request is written off; new ones wait a second, made by the caller's next
                // call, not from here: an answer per request must not become a loop.
                state.requested = 0
                state.pausedUntil = .now + .seconds(1)
                if code != "404", code != "408" {
                    let error = NATSError(
                        code: code == "409" && text.contains("Deleted") ? .notFound : .jetStream,
                        operation: "pull \(requestSubject)", message: "\(code) \(text)")
                    // A deleted consumer is the one to report (the caller makes it again).
                    if state.failure?.code != .notFound { state.failure = error }
                }
            }
            let waiter = state.waiter?.continuation
            state.waiter = nil
            return (waiter, owed != nil)
        }
        waiter?.resume()
        if counted { refill() }
    }

    /// Requests what the window has free, once a quarter of it is free.
    func refill() {
        let batch: Int = state.withLock { state in
            guard !state.closed else { return 0 }
            let now = ContinuousClock.now
            if let pausedUntil = state.pausedUntil {
                guard now >= pausedUntil else { return 0 }
                state.pausedUntil = nil
            }
            // After a reconnect the server may have restarted and forgotten the requests.
            let reconnects = connection.reconnects
            if reconnects > state.reconnects {
                state.reconnects = reconnects
                state.requested = 0
            }
            // Requests lost with the connection never answer: after `expires` (plus a margin)
            // with nothing heard, whatever is still counted as requested is gone.
            if state.requested > 0, now - state.lastRequest > expires + .seconds(2),
                now - state.lastAnswer > expires + .seconds(2)
            {
                state.requested = 0
            }
            let free = window - state.requested - state.buffer.count
            guard free > 0, free >= (window + 3) / 4 else { return 0 }
            state.requested += free
            state.lastRequest = now
            return free
        }
        guard batch > 0 else { return }
        let expiresNanoseconds = expires.nanoseconds
        do {
            try connection.publish(
                subject: requestSubject, text: "{\"batch\":\(batch),\"expires\":\(expiresNanoseconds)}", reply: inbox,
                operation: "pull request")
        } catch {
            state.withLock { state in
                state.requested = max(0, state.requested - batch)
                state.failure = error
            }
        }
    }

    func next(max: Int, timeout: Duration) async throws -> [JetStreamMessage] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let taken: Result<[JetStreamMessage], NATSError>? = state.withLock { state in
                if let failure = state.failure {
                    state.failure = nil
                    return .failure(failure)
                }
                // Stopped: nothing more is handed out (what is buffered waits for takeBuffered).
                if state.closed { return .success([]) }
                guard !state.buffer.isEmpty || ContinuousClock.now >= deadline else { return nil }
                let count = Swift.min(max, state.buffer.count)
                let taken = state.buffer.prefix(count).map(\.message)
                state.buffer.removeFirst(count)
                return .success(taken)
            }
            if let taken {
                refill()
                return try taken.get()
            }
            refill()
            await wait(until: deadline)
            if Task.isCancelled { return [] }
        }
    }

    /// Waits for a message or status, the deadline, or cancellation.
    private func wait(until deadline: ContinuousClock.Instant) async {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timer = Task {
            try? await Task.sleep(until: deadline)
            self.wake(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state in
                    if !state.buffer.isEmpty || state.closed || state.failure != nil || Task.isCancelled
                        || ContinuousClock.now >= deadline
                    {
                        return true
                    }
                    // One caller at a time (the worker's loop): a second waiter would replace
                    // the first, which would then wait for its timeout only.
                    precondition(state.waiter == nil, "ContinuousPull.next called concurrently")
                    state.waiter = (id, continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            self.wake(id)
        }
        timer.cancel()
    }

    private func wake(_ id: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter, waiter.id == id else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }
}
