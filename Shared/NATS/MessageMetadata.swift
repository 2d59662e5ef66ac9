import Contracts

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
        guard let parsed = subject.withUTF8({ Self.parse($0, reusing: nil) }) else { return nil }
        self = parsed
    }

    /// Parsed from the ack subject's bytes. The stream and consumer names are taken from
    /// `previous` when they are the same (a consumer's messages share them): no strings made.
    init?(ackSubject bytes: UnsafeBufferPointer<UInt8>, reusing previous: MessageMetadata?) {
        guard let parsed = Self.parse(bytes, reusing: previous) else { return nil }
        self = parsed
    }

    /// One pass over the bytes for the token boundaries, kept on the stack (no array of
    /// substrings per message).
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, reusing previous: MessageMetadata?)
        -> MessageMetadata?
    {
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
            func name(_ token: UnsafeBufferPointer<UInt8>, _ known: String?) -> String {
                if let known, known.utf8.count == token.count,
                    known.utf8.withContiguousStorageIfAvailable({ $0.elementsEqual(token) })
                        == true
                {
                    return known
                }
                return String(decoding: token, as: UTF8.self)
            }
            return MessageMetadata(
                stream: name(token(first), previous?.stream),
                consumer: name(token(first + 1), previous?.consumer),
                streamSequence: streamSequence, consumerSequence: consumerSequence, deliveryCount: delivered,
                pending: pending, timestamp: Int64(truncatingIfNeeded: timestamp))
        }
    }
}
