import CNATS
import NIOConcurrencyHelpers

/// A message delivered by JetStream, with its acknowledgement methods.
///
/// `@unchecked Sendable`: the `natsMsg` handle is only touched under `lock`; subject, payload,
/// headers and metadata are copied out when the message is received.
public final class JetStreamMessage: @unchecked Sendable {
    private let handle: OpaquePointer
    private let lock = NIOLock()
    /// Keeps the subscription (and so the connection) alive while the message may still be acked.
    private let owner: AnyObject
    public let subject: String
    public let payload: [UInt8]
    public let headers: [String: [String]]
    public let metadata: MessageMetadata?

    init(handle: OpaquePointer, owner: AnyObject) {
        self.handle = handle
        self.owner = owner
        self.subject = String(cString: natsMsg_GetSubject(handle))
        let length = Int(natsMsg_GetDataLength(handle))
        if length > 0, let data = natsMsg_GetData(handle) {
            self.payload = data.withMemoryRebound(to: UInt8.self, capacity: length) {
                Array(UnsafeBufferPointer(start: $0, count: length))
            }
        } else {
            self.payload = []
        }
        var headers: [String: [String]] = [:]
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var keyCount: Int32 = 0
        if natsMsgHeader_Keys(handle, &keys, &keyCount) == NATS_OK, let keys {
            for index in 0..<Int(keyCount) {
                guard let key = keys[index] else { continue }
                var values: UnsafeMutablePointer<UnsafePointer<CChar>?>?
                var valueCount: Int32 = 0
                if natsMsgHeader_Values(handle, key, &values, &valueCount) == NATS_OK, let values {
                    headers[String(cString: key)] = (0..<Int(valueCount)).compactMap {
                        values[$0].map { String(cString: $0) }
                    }
                    free(values)
                }
            }
            free(keys)
        }
        self.headers = headers
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        if natsMsg_GetMetaData(&meta, handle) == NATS_OK, let meta {
            self.metadata = MessageMetadata(
                stream: meta.pointee.Stream.map { String(cString: $0) } ?? "",
                consumer: meta.pointee.Consumer.map { String(cString: $0) } ?? "",
                streamSequence: meta.pointee.Sequence.Stream, consumerSequence: meta.pointee.Sequence.Consumer,
                deliveryCount: meta.pointee.NumDelivered, pending: meta.pointee.NumPending,
                timestamp: meta.pointee.Timestamp)
            jsMsgMetaData_Destroy(meta)
        } else {
            self.metadata = nil
        }
    }

    deinit {
        natsMsg_Destroy(handle)
    }

    /// The first value of a header.
    public func header(_ name: String) -> String? { headers[name]?.first }

    /// Acknowledges the message (buffered publish; returns at once).
    public func ack() throws {
        try lock.withLock { () throws in try NATSError.check(natsMsg_Ack(handle, nil), "ack") }
    }

    /// Acknowledges and waits for the server's confirmation.
    public func ackSync() async throws {
        try await Blocking.run { [self] () throws in
            try lock.withLock { () throws in
                var error = jsErrCode(0)
                try NATSError.check(natsMsg_AckSync(handle, nil, &error), "ack", jsError: error)
            }
        }
    }

    /// Asks for redelivery, at once or after `delay`.
    public func nak(delay: Duration? = nil) throws {
        try lock.withLock { () throws in
            if let delay {
                try NATSError.check(natsMsg_NakWithDelay(handle, delay.milliseconds, nil), "nak")
            } else {
                try NATSError.check(natsMsg_Nak(handle, nil), "nak")
            }
        }
    }

    /// Stops redelivery for good.
    public func term() throws {
        try lock.withLock { () throws in try NATSError.check(natsMsg_Term(handle, nil), "term") }
    }

    /// Resets the server's ack timer: the message is still being worked on.
    public func inProgress() throws {
        try lock.withLock { () throws in try NATSError.check(natsMsg_InProgress(handle, nil), "in progress") }
    }
}

/// A subscription to a durable pull consumer. Fetches are serialised; messages may be acked from
/// any task.
///
/// `@unchecked Sendable`: the `natsSubscription` handle is only used under `lock`.
public final class PullSubscription: @unchecked Sendable {
    private let handle: OpaquePointer
    private let lock = NIOLock()
    private let jetStream: JetStream

    init(handle: OpaquePointer, jetStream: JetStream) {
        self.handle = handle
        self.jetStream = jetStream
    }

    deinit {
        natsSubscription_Destroy(handle)
    }

    /// Fetches up to `batch` messages, waiting at most `timeout`; an empty array when none came.
    public func fetch(batch: Int, timeout: Duration) async throws -> [JetStreamMessage] {
        try await Blocking.run { [self] () throws -> [JetStreamMessage] in
            try lock.withLock { () throws -> [JetStreamMessage] in
                var list = natsMsgList()
                var error = jsErrCode(0)
                let status = natsSubscription_Fetch(&list, handle, Int32(batch), max(1, timeout.milliseconds), &error)
                defer { natsMsgList_Destroy(&list) }
                var messages: [JetStreamMessage] = []
                messages.reserveCapacity(Int(list.Count))
                for index in 0..<Int(list.Count) {
                    if let message = list.Msgs[index] {
                        messages.append(JetStreamMessage(handle: message, owner: self))
                        list.Msgs[index] = nil
                    }
                }
                if messages.isEmpty, status != NATS_TIMEOUT {
                    try NATSError.check(status, "fetch", jsError: error)
                }
                return messages
            }
        }
    }

    /// Stops the subscription (the durable consumer stays on the server).
    public func unsubscribe() {
        lock.withLock { _ = natsSubscription_Unsubscribe(handle) }
    }
}

/// An ordered consumer: ephemeral, no acks, delivered in stream order with gaps repaired by the library.
///
/// `@unchecked Sendable`: the `natsSubscription` handle is only used under `lock`.
public final class OrderedSubscription: @unchecked Sendable {
    private let handle: OpaquePointer
    private let lock = NIOLock()
    private let jetStream: JetStream

    init(handle: OpaquePointer, jetStream: JetStream) {
        self.handle = handle
        self.jetStream = jetStream
    }

    deinit {
        natsSubscription_Destroy(handle)
    }

    /// The next message, or nil when none arrived within `timeout`.
    public func next(timeout: Duration) async throws -> JetStreamMessage? {
        try await Blocking.run { [self] () throws -> JetStreamMessage? in
            try lock.withLock { () throws -> JetStreamMessage? in
                var message: OpaquePointer?
                let status = natsSubscription_NextMsg(&message, handle, max(1, timeout.milliseconds))
                if status == NATS_TIMEOUT { return nil }
                try NATSError.check(status, "next message")
                return message.map { JetStreamMessage(handle: $0, owner: self) }
            }
        }
    }

    public func unsubscribe() {
        lock.withLock { _ = natsSubscription_Unsubscribe(handle) }
    }
}
