import Contracts

/// A message to publish to JetStream.
public struct OutgoingMessage: Sendable {
    public var subject: String
    public var payload: [UInt8]
    /// Header name/value pairs (set in order; a later value of the same name replaces an earlier one).
    /// The message id is one of them (`EventHeaders.messageId`, `Nats-Msg-Id`): the stream stores
    /// a given id once within its duplicate window.
    public var headers: [(String, String)]

    /// - Parameter messageId: appended to `headers` as `Nats-Msg-Id`.
    public init(subject: String, payload: [UInt8], headers: [(String, String)] = [], messageId: String? = nil) {
        self.subject = subject
        self.payload = payload
        self.headers = headers
        if let messageId { self.headers.append((EventHeaders.messageId, messageId)) }
    }
}

/// The server's acknowledgement that a message is stored.
public struct PubAck: Hashable, Sendable {
    public var stream: String
    public var sequence: UInt64
    /// The message id was seen within the duplicate window: the message was not stored again.
    public var duplicate: Bool

    public init(stream: String, sequence: UInt64, duplicate: Bool) {
        self.stream = stream
        self.sequence = sequence
        self.duplicate = duplicate
    }
}

public enum StorageKind: String, Sendable, Hashable {
    case file
    case memory
}

/// A stream's configuration, applied idempotently by ``JetStream/ensureStream(_:)``.
public struct StreamConfiguration: Sendable, Hashable {
    public var name: String
    public var subjects: [String]
    public var storage: StorageKind
    public var maxAge: Duration
    public var duplicateWindow: Duration
    public var replicas: Int
    public var maxBytes: Int64
    /// -1: unlimited. With `maxBytes` or `maxMessages` set, a full stream refuses new messages
    /// (discard-new) instead of dropping its oldest, which may not have been consumed yet.
    public var maxMessages: Int64

    public init(
        name: String, subjects: [String], storage: StorageKind = .file, maxAge: Duration = .seconds(7 * 86_400),
        duplicateWindow: Duration = .seconds(300), replicas: Int = 1, maxBytes: Int64 = -1, maxMessages: Int64 = -1
    ) {
        self.maxMessages = maxMessages
        self.name = name
        self.subjects = subjects
        self.storage = storage
        self.maxAge = maxAge
        self.duplicateWindow = duplicateWindow
        self.replicas = replicas
        self.maxBytes = maxBytes
    }
}

public struct StreamInfo: Sendable, Hashable {
    public var name: String
    public var subjects: [String]
    public var messages: UInt64
    public var bytes: UInt64
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    public var consumerCount: Int64
    public var duplicateWindow: Duration
    public var maxAge: Duration
    public var replicas: Int
}

/// A durable pull consumer's configuration.
public struct ConsumerConfiguration: Sendable, Hashable {
    public enum DeliverPolicy: Sendable, Hashable {
        case all
        case new
        case startSequence(UInt64)
        /// Nanoseconds since the Unix epoch.
        case startTime(nanosecondsSinceEpoch: Int64)
    }

    public var durableName: String
    public var filterSubject: String?
    public var deliverPolicy: DeliverPolicy
    public var ackWait: Duration
    /// -1: unlimited.
    public var maxDeliver: Int
    /// Redelivery delays used by the server when an ack times out.
    public var backoff: [Duration]
    /// -1: server default.
    public var maxAckPending: Int

    public init(
        durableName: String, filterSubject: String? = nil, deliverPolicy: DeliverPolicy = .all,
        ackWait: Duration = .seconds(30), maxDeliver: Int = -1, backoff: [Duration] = [], maxAckPending: Int = -1
    ) {
        self.durableName = durableName
        self.filterSubject = filterSubject
        self.deliverPolicy = deliverPolicy
        self.ackWait = ackWait
        self.maxDeliver = maxDeliver
        self.backoff = backoff
        self.maxAckPending = maxAckPending
    }
}

public struct ConsumerInfo: Sendable, Hashable {
    public var stream: String
    public var name: String
    /// Messages not yet delivered to the consumer.
    public var pending: UInt64
    /// Delivered but not yet acknowledged.
    public var ackPending: Int64
    public var redelivered: Int64
    public var deliveredStreamSequence: UInt64
    public var ackFloorStreamSequence: UInt64
}

/// Where an ordered consumer starts.
public enum OrderedStart: Sendable, Hashable {
    case all
    case new
    case sequence(UInt64)
    case time(nanosecondsSinceEpoch: Int64)
}

/// JetStream metadata of a delivered message.
public struct MessageMetadata: Sendable, Hashable {
    public var stream: String
    public var consumer: String
    public var streamSequence: UInt64
    public var consumerSequence: UInt64
    /// 1 on the first delivery.
    public var deliveryCount: UInt64
    public var pending: UInt64
    /// Nanoseconds since the Unix epoch when the message was stored.
    public var timestamp: Int64
}

extension MessageMetadata {
    /// Parsed from a JetStream ack subject: `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.
    /// <consumer seq>.<timestamp>.<pending>`, or the newer form with a domain and an account hash
    /// after `$JS.ACK` (and possibly more tokens at the end). Nil for anything else.
    public init?(ackSubject: String) {
        var subject = ackSubject
        guard let parsed = subject.withUTF8({ Self.parse($0) }) else { return nil }
        self = parsed
    }

    /// One pass over the bytes for the token boundaries, kept on the stack (no array of
    /// substrings per message).
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> MessageMetadata? {
        // 11 tokens at most are read: the 9-token form, or the newer one with `<domain>.<account
        // hash>` after `$JS.ACK` (and possibly more tokens at the end, not read).
        withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: 11) { tokens -> MessageMetadata? in
            var count = 0
            var start = 0
            for position in 0...bytes.count where position == bytes.count || bytes[position] == UInt8(ascii: ".") {
                if count < tokens.count { tokens.initializeElement(at: count, to: start..<position) }
                count += 1
                start = position + 1
            }
            // Only the first min(count, 11) elements are initialised; every index read below is
            // below that (count ≥ 9, and ≥ 11 when `first` is 4).
            func token(_ index: Int) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(rebasing: bytes[tokens[index]])
            }
            guard count >= 9, token(0).elementsEqual("$JS".utf8), token(1).elementsEqual("ACK".utf8) else {
                return nil
            }
            let first: Int
            if count == 9 {
                first = 2
            } else if count >= 11 {
                first = 4
            } else {
                return nil
            }
            func number(_ token: UnsafeBufferPointer<UInt8>) -> UInt64? {
                var value: UInt64 = 0
                guard !token.isEmpty else { return nil }
                for byte in token {
                    guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                    let (times, overflow) = value.multipliedReportingOverflow(by: 10)
                    guard !overflow else { return nil }
                    value = times + UInt64(byte - UInt8(ascii: "0"))
                }
                return value
            }
            guard let delivered = number(token(first + 2)), let streamSequence = number(token(first + 3)),
                let consumerSequence = number(token(first + 4)), let timestamp = number(token(first + 5)),
                let pending = number(token(first + 6))
            else { return nil }
            return MessageMetadata(
                stream: String(decoding: token(first), as: UTF8.self),
                consumer: String(decoding: token(first + 1), as: UTF8.self),
                streamSequence: streamSequence, consumerSequence: consumerSequence, deliveryCount: delivered,
                pending: pending, timestamp: Int64(truncatingIfNeeded: timestamp))
        }
    }
}
