import CNATS
import Contracts
import Foundation
import NIOConcurrencyHelpers

/// A message delivered by JetStream, with its acknowledgement methods.
///
/// Everything is copied out of the library's message when it is received (the C message is
/// destroyed at once); acknowledgements are publishes to the message's reply subject
/// (`$JS.ACK.…`), as the JetStream protocol defines them, so they work the same for messages of
/// a fetch, of a continuous pull and of an ordered consumer.
public final class JetStreamMessage: Sendable {
    private let connection: NATSConnection
    /// The `$JS.ACK.…` subject the acknowledgements go to; nil for a message without one.
    private let reply: String?
    public let subject: String
    public let payload: [UInt8]
    public let headers: [String: [String]]
    public let metadata: MessageMetadata?

    /// Copies the message and destroys the C message. Without `headers` the headers are not
    /// copied (an empty dictionary), for readers that use none; without `subject`, the subject is
    /// not (an empty string). Without `acknowledgeable` the
    /// reply subject is only read for the metadata, not kept (an ordered consumer acknowledges
    /// nothing). `previous`: the metadata of the subscription's previous message, whose stream
    /// and consumer names are reused when they are the same.
    init(
        taking handle: OpaquePointer, connection: NATSConnection, headers: Bool = true, subject: Bool = true,
        acknowledgeable: Bool = true, previous: MessageMetadata? = nil
    ) {
        defer { natsMsg_Destroy(handle) }
        self.connection = connection
        self.subject = subject ? String(cString: natsMsg_GetSubject(handle)) : ""
        let reply = natsMsg_GetReply(handle)
        self.reply = acknowledgeable ? reply.map { String(cString: $0) } : nil
        self.payload = Self.payload(handle)
        self.headers = headers ? Self.headers(handle) : [:]
        self.metadata = reply.flatMap { text in
            let length = strlen(text)
            return text.withMemoryRebound(to: UInt8.self, capacity: length) {
                MessageMetadata(ackSubject: UnsafeBufferPointer(start: $0, count: length), reusing: previous)
            }
        }
    }

    static func payload(_ handle: OpaquePointer) -> [UInt8] {
        let length = Int(natsMsg_GetDataLength(handle))
        guard length > 0, let data = natsMsg_GetData(handle) else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    static func headers(_ handle: OpaquePointer) -> [String: [String]] {
        var headers: [String: [String]] = [:]
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var keyCount: Int32 = 0
        guard natsMsgHeader_Keys(handle, &keys, &keyCount) == NATS_OK, let keys else { return headers }
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
        return headers
    }

    /// The first value of a header.
    public func header(_ name: String) -> String? { headers[name]?.first }

    /// The `$JS.ACK…` subject the acknowledgements go to.
    private func ackSubject(_ operation: String) throws(NATSError) -> String {
        guard let reply else {
            throw NATSError(
                code: .invalidArgument, operation: operation, message: "not a JetStream message (no reply subject)")
        }
        return reply
    }

    private func acknowledge(_ body: String, _ operation: String) throws {
        try connection.publish(subject: ackSubject(operation), text: body, operation: operation)
    }

    /// Acknowledges the message (buffered publish; returns at once).
    public func ack() throws { try acknowledge("+ACK", "ack") }

    /// Acknowledges and waits for the server's confirmation.
    public func ackSync() async throws {
        try await connection.request(
            subject: ackSubject("ack"), text: "+ACK", timeout: connection.configuration.requestTimeout)
    }

    /// Asks for redelivery, at once or after `delay`.
    public func nak(delay: Duration? = nil) throws {
        if let delay {
            // Saturating: a receiver's absurd `Retry-After` must not trap the worker.
            try acknowledge("-NAK {\"delay\":\(max(0, delay.nanoseconds))}", "nak")
        } else {
            try acknowledge("-NAK", "nak")
        }
    }

    /// Stops redelivery for good.
    public func term() throws { try acknowledge("+TERM", "term") }

    /// Resets the server's ack timer: the message is still being worked on.
    public func inProgress() throws { try acknowledge("+WPI", "in progress") }
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
                        list.Msgs[index] = nil
                        messages.append(JetStreamMessage(taking: message, connection: jetStream.connection))
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
