import CNATS
import Contracts
import Foundation
import NIOConcurrencyHelpers
import Synchronization

/// A JetStream context: stream and consumer management, publishing, subscriptions.
///
/// `@unchecked Sendable`: the `jsCtx` handle is safe for concurrent use in libnats; asynchronous
/// publish batches are serialised by `publishLock` because their completion is context-wide.
public final class JetStream: @unchecked Sendable {
    public let connection: NATSConnection
    let handle: OpaquePointer
    private let router: PublishAckRouter
    private let publishLock = NIOLock()

    init(connection: NATSConnection) throws(NATSError) {
        self.connection = connection
        let router = PublishAckRouter()
        self.router = router
        var options = jsOptions()
        jsOptions_Init(&options)
        options.Wait = connection.configuration.requestTimeout.milliseconds
        options.PublishAsync.MaxPending = Int64(connection.configuration.maxPendingPublishes)
        options.PublishAsync.StallWait = connection.configuration.requestTimeout.milliseconds
        options.PublishAsync.AckHandlerClosure = Unmanaged.passUnretained(router).toOpaque()
        options.PublishAsync.AckHandler = { _, message, ack, error, closure in
            guard let closure, let message else { return }
            let router = Unmanaged<PublishAckRouter>.fromOpaque(closure).takeUnretainedValue()
            let result: Result<PubAck, NATSError>
            if let ack {
                result = .success(
                    PubAck(
                        stream: ack.pointee.Stream.map { String(cString: $0) } ?? "", sequence: ack.pointee.Sequence,
                        duplicate: ack.pointee.Duplicate))
            } else if let error {
                let text = error.pointee.ErrText.map { String(cString: $0) }
                result = .failure(
                    NATSError(
                        status: error.pointee.Err, operation: "publish", jsError: error.pointee.ErrCode, text: text))
            } else {
                result = .failure(NATSError(code: .other, operation: "publish", message: "no PubAck"))
            }
            router.complete(message, result)
            natsMsg_Destroy(message)
        }
        var context: OpaquePointer?
        try NATSError.check(natsConnection_JetStream(&context, connection.handle, &options), "jetstream context")
        guard let context else { throw NATSError(code: .other, operation: "jetstream context", message: "no context") }
        self.handle = context
    }

    deinit {
        jsCtx_Destroy(handle)
    }

    // MARK: Streams

    /// Creates the stream, or updates it to this configuration; safe to call at every start-up.
    @discardableResult
    public func ensureStream(_ configuration: StreamConfiguration) async throws -> StreamInfo {
        try await Blocking.run { [self] () throws -> StreamInfo in
            let strings = CStrings()
            var subjects = configuration.subjects.map { strings.add($0) }
            return try subjects.withUnsafeMutableBufferPointer { subjectPointers throws -> StreamInfo in
                var config = jsStreamConfig()
                jsStreamConfig_Init(&config)
                config.Name = strings.add(configuration.name)
                config.Subjects = subjectPointers.baseAddress
                config.SubjectsLen = Int32(subjectPointers.count)
                config.Storage = configuration.storage == .file ? js_FileStorage : js_MemoryStorage
                config.MaxAge = configuration.maxAge.nanoseconds
                config.Duplicates = configuration.duplicateWindow.nanoseconds
                config.Replicas = Int64(configuration.replicas)
                config.MaxBytes = configuration.maxBytes
                config.MaxMsgs = configuration.maxMessages
                if configuration.maxBytes > 0 || configuration.maxMessages > 0 { config.Discard = js_DiscardNew }
                var info: UnsafeMutablePointer<jsStreamInfo>?
                var error = jsErrCode(0)
                var status = js_AddStream(&info, handle, &config, nil, &error)
                if status != NATS_OK, error == JSStreamNameExistErr {
                    error = jsErrCode(0)
                    status = js_UpdateStream(&info, handle, &config, nil, &error)
                }
                try NATSError.check(status, "ensure stream \(configuration.name)", jsError: error)
                defer { jsStreamInfo_Destroy(info) }
                return StreamInfo(info!)
            }
        }
    }

    public func streamInfo(_ name: String) async throws -> StreamInfo {
        try await Blocking.run { [self] () throws -> StreamInfo in
            var info: UnsafeMutablePointer<jsStreamInfo>?
            var error = jsErrCode(0)
            try NATSError.check(
                js_GetStreamInfo(&info, handle, name, nil, &error), "stream info \(name)", jsError: error)
            defer { jsStreamInfo_Destroy(info) }
            return StreamInfo(info!)
        }
    }

    /// How long ago the consumer's oldest message not yet acknowledged was stored, in seconds;
    /// nil when the consumer has nothing pending or awaiting an ack. (JetStream deletes messages
    /// at the stream's `max_age`, acknowledged or not.)
    public func oldestUnacknowledgedAge(stream: String, consumer: String) async throws -> Double? {
        let info = try await consumerInfo(stream: stream, consumer: consumer)
        guard info.pending > 0 || info.ackPending > 0,
            let stored = try await storedTime(stream: stream, sequence: info.ackFloorStreamSequence + 1)
        else { return nil }
        return max(0, Date().timeIntervalSince1970 - Double(stored) / 1e9)
    }

    /// When the message at `sequence` was stored, in nanoseconds since the epoch (nil when there
    /// is none: deleted, or past the end).
    func storedTime(stream: String, sequence: UInt64) async throws -> Int64? {
        try await Blocking.run { [self] () throws -> Int64? in
            var message: OpaquePointer?
            var error = jsErrCode(0)
            let status = js_GetMsg(&message, handle, stream, sequence, nil, &error)
            if status == NATS_NOT_FOUND || error == JSNoMessageFoundErr { return nil }
            try NATSError.check(status, "get message \(sequence) of \(stream)", jsError: error)
            defer { natsMsg_Destroy(message) }
            return natsMsg_GetTime(message)
        }
    }

    public func deleteStream(_ name: String) async throws {
        try await Blocking.run { [self] () throws in
            var error = jsErrCode(0)
            try NATSError.check(js_DeleteStream(handle, name, nil, &error), "delete stream \(name)", jsError: error)
        }
    }

    // MARK: Consumers

    /// Creates the durable consumer, or updates it to this configuration.
    @discardableResult
    public func ensureConsumer(stream: String, _ configuration: ConsumerConfiguration) async throws -> ConsumerInfo {
        try await Blocking.run { [self] () throws -> ConsumerInfo in
            let strings = CStrings()
            var backoff = configuration.backoff.map(\.nanoseconds)
            return try backoff.withUnsafeMutableBufferPointer { backoffPointer throws -> ConsumerInfo in
                var config = jsConsumerConfig()
                jsConsumerConfig_Init(&config)
                config.Durable = strings.add(configuration.durableName)
                config.FilterSubject = strings.add(configuration.filterSubject)
                config.AckPolicy = js_AckExplicit
                config.AckWait = configuration.ackWait.nanoseconds
                config.MaxDeliver = Int64(configuration.maxDeliver)
                config.MaxAckPending = Int64(configuration.maxAckPending)
                if !backoffPointer.isEmpty {
                    config.BackOff = backoffPointer.baseAddress
                    config.BackOffLen = Int32(backoffPointer.count)
                }
                switch configuration.deliverPolicy {
                case .all: config.DeliverPolicy = js_DeliverAll
                case .new: config.DeliverPolicy = js_DeliverNew
                case .startSequence(let sequence):
                    config.DeliverPolicy = js_DeliverByStartSequence
                    config.OptStartSeq = sequence
                case .startTime(let nanoseconds):
                    config.DeliverPolicy = js_DeliverByStartTime
                    config.OptStartTime = nanoseconds
                }
                var info: UnsafeMutablePointer<jsConsumerInfo>?
                var error = jsErrCode(0)
                var status = js_AddConsumer(&info, handle, stream, &config, nil, &error)
                if status != NATS_OK, error != jsErrCode(0), error != JSStreamNotFoundErr {
                    error = jsErrCode(0)
                    status = js_UpdateConsumer(&info, handle, stream, &config, nil, &error)
                }
                try NATSError.check(status, "ensure consumer \(configuration.durableName)", jsError: error)
                defer { jsConsumerInfo_Destroy(info) }
                return ConsumerInfo(info!)
            }
        }
    }

    /// Every consumer of a stream, by name.
    public func consumers(stream: String) async throws -> [ConsumerInfo] {
        try await Blocking.run { [self] () throws -> [ConsumerInfo] in
            var list: UnsafeMutablePointer<jsConsumerInfoList>?
            var error = jsErrCode(0)
            let status = js_Consumers(&list, handle, stream, nil, &error)
            // A stream without consumers answers "not found".
            if status == NATS_NOT_FOUND { return [] }
            try NATSError.check(status, "consumers of \(stream)", jsError: error)
            defer { jsConsumerInfoList_Destroy(list) }
            guard let list else { return [] }
            return (0..<Int(list.pointee.Count)).compactMap { index in
                list.pointee.List[index].map { ConsumerInfo($0) }
            }.sorted { $0.name < $1.name }
        }
    }

    public func consumerInfo(stream: String, consumer: String) async throws -> ConsumerInfo {
        try await Blocking.run { [self] () throws -> ConsumerInfo in
            var info: UnsafeMutablePointer<jsConsumerInfo>?
            var error = jsErrCode(0)
            try NATSError.check(
                js_GetConsumerInfo(&info, handle, stream, consumer, nil, &error), "consumer info \(consumer)",
                jsError: error)
            defer { jsConsumerInfo_Destroy(info) }
            return ConsumerInfo(info!)
        }
    }

    // MARK: Publishing

    /// Publishes one message and waits for its PubAck (one round trip).
    public func publish(_ message: OutgoingMessage) async throws -> PubAck {
        try await Blocking.run { [self] () throws -> PubAck in
            let pointer = try Self.makeMessage(message)
            defer { natsMsg_Destroy(pointer) }
            var ack: UnsafeMutablePointer<jsPubAck>?
            var error = jsErrCode(0)
            try NATSError.check(
                js_PublishMsg(&ack, handle, pointer, nil, &error), "publish \(message.subject)", jsError: error)
            defer { jsPubAck_Destroy(ack) }
            return PubAck(
                stream: ack!.pointee.Stream.map { String(cString: $0) } ?? "", sequence: ack!.pointee.Sequence,
                duplicate: ack!.pointee.Duplicate)
        }
    }

    /// Publishes every message asynchronously (pipelined) and waits for all PubAcks.
    ///
    /// Returns one result per message, in order. A message reported `.success` is stored in the
    /// stream; one reported `.failure` may or may not be (for example when the connection dropped
    /// after the server stored it): republish it with the same message id and the duplicate window
    /// drops the copy.
    public func publishBatch(_ messages: [OutgoingMessage], timeout: Duration = .seconds(10)) async throws
        -> [Result<PubAck, NATSError>]
    {
        guard !messages.isEmpty else { return [] }
        return try await Blocking.run { [self] () -> [Result<PubAck, NATSError>] in
            publishLock.withLock { publishBatchLocked(messages, timeout: timeout) }
        }
    }

    private func publishBatchLocked(_ messages: [OutgoingMessage], timeout: Duration) -> [Result<PubAck, NATSError>] {
        router.begin(count: messages.count)
        for (index, message) in messages.enumerated() {
            do {
                var pointer: OpaquePointer? = try Self.makeMessage(message)
                router.register(pointer!, index: index)
                let original = pointer!
                let status = js_PublishMsgAsync(handle, &pointer, nil)
                if status != NATS_OK {
                    // The library did not take the message: it is still ours.
                    router.complete(
                        original, .failure(NATSError(status: status, operation: "publish \(message.subject)")))
                    natsMsg_Destroy(pointer ?? original)
                }
            } catch {
                router.fail(index: index, error)
            }
        }
        var options = jsPubOptions()
        jsPubOptions_Init(&options)
        options.MaxWait = timeout.milliseconds
        if js_PublishAsyncComplete(handle, &options) != NATS_OK {
            // Whatever is still pending gets no PubAck from us: take the messages back and fail them.
            var pending = natsMsgList()
            if js_PublishAsyncGetPendingList(&pending, handle) == NATS_OK {
                for index in 0..<Int(pending.Count) {
                    if let message = pending.Msgs[index] {
                        router.complete(
                            message,
                            .failure(
                                NATSError(code: .timeout, operation: "publish", message: "no PubAck within \(timeout)"))
                        )
                    }
                }
                natsMsgList_Destroy(&pending)
            }
        }
        return router.end()
    }

    static func makeMessage(_ message: OutgoingMessage) throws(NATSError) -> OpaquePointer {
        var pointer: OpaquePointer?
        let status = message.payload.withUnsafeBytes { bytes in
            natsMsg_Create(
                &pointer, message.subject, nil, bytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                Int32(bytes.count))
        }
        try NATSError.check(status, "create message \(message.subject)")
        do {
            for (name, value) in message.headers {
                try NATSError.check(natsMsgHeader_Set(pointer, name, value), "set header \(name)")
            }
        } catch {
            natsMsg_Destroy(pointer)
            throw error
        }
        return pointer!
    }

    // MARK: Subscriptions

    /// Binds to an existing durable pull consumer (create it with ``ensureConsumer(stream:_:)``).
    public func pullSubscribe(stream: String, consumer: String, subject: String? = nil) async throws -> PullSubscription
    {
        try await Blocking.run { [self] () throws -> PullSubscription in
            let strings = CStrings()
            var options = jsSubOptions()
            jsSubOptions_Init(&options)
            options.Stream = strings.add(stream)
            options.Consumer = strings.add(consumer)
            var subscription: OpaquePointer?
            var error = jsErrCode(0)
            try NATSError.check(
                js_PullSubscribe(&subscription, handle, subject, consumer, nil, &options, &error),
                "pull subscribe \(consumer)", jsError: error)
            return PullSubscription(handle: subscription!, jetStream: self)
        }
    }

    /// A continuous pull from an existing durable pull consumer (see ``ContinuousPull``): up to
    /// `window` messages requested or buffered ahead of the caller. Without `headers` the
    /// messages' headers are not copied (for a reader that uses none).
    public func continuousPull(
        stream: String, consumer: String, window: Int, expires: Duration = .seconds(5), headers: Bool = true
    ) throws -> ContinuousPull {
        try ContinuousPull(
            connection: connection, stream: stream, consumer: consumer, window: window, expires: expires,
            headers: headers)
    }

    /// An ordered consumer (ephemeral, no acks, gap-free, in stream order) from a start position
    /// (see ``OrderedConsumer``): at most `bufferBytes` of messages wait for the reader. Without
    /// `headers` the messages' headers are not copied; without `subjects`, their subjects are not
    /// (empty strings), for readers that use only the payload and the metadata.
    public func orderedSubscribe(
        subject: String, start: OrderedStart, bufferBytes: Int = 8 << 20, headers: Bool = true, subjects: Bool = true
    ) throws -> OrderedConsumer {
        try OrderedConsumer(
            jetStream: self, subject: subject, start: start, bufferBytes: bufferBytes, headers: headers,
            subjects: subjects)
    }
}

extension StreamInfo {
    init(_ info: UnsafeMutablePointer<jsStreamInfo>) {
        let config = info.pointee.Config!.pointee
        var subjects: [String] = []
        for index in 0..<Int(config.SubjectsLen) {
            if let subject = config.Subjects[index] { subjects.append(String(cString: subject)) }
        }
        self.init(
            name: config.Name.map { String(cString: $0) } ?? "", subjects: subjects, messages: info.pointee.State.Msgs,
            bytes: info.pointee.State.Bytes, firstSequence: info.pointee.State.FirstSeq,
            lastSequence: info.pointee.State.LastSeq, consumerCount: info.pointee.State.Consumers,
            duplicateWindow: .nanoseconds(config.Duplicates), maxAge: .nanoseconds(config.MaxAge),
            replicas: Int(config.Replicas), maxBytes: config.MaxBytes, maxMessages: config.MaxMsgs)
    }
}

extension ConsumerInfo {
    init(_ info: UnsafeMutablePointer<jsConsumerInfo>) {
        self.init(
            stream: info.pointee.Stream.map { String(cString: $0) } ?? "",
            name: info.pointee.Name.map { String(cString: $0) } ?? "", pending: info.pointee.NumPending,
            ackPending: info.pointee.NumAckPending, redelivered: info.pointee.NumRedelivered,
            deliveredStreamSequence: info.pointee.Delivered.Stream, ackFloorStreamSequence: info.pointee.AckFloor.Stream
        )
    }
}
