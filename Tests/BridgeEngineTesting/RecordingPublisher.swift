import BridgeEngine
import Contracts
import NATS
import Synchronization

/// An ``EventPublisher`` that keeps what it is sent, in memory, and drops a message whose
/// `Nats-Msg-Id` it already stored, as JetStream's duplicate window does. It can be told to fail
/// part of the next batches, as a server that stops answering mid-batch.
public final class RecordingPublisher: EventPublisher {
    /// A stored message.
    public struct Stored: Sendable {
        public var subject: String
        public var payload: [UInt8]
        public var headers: [String: String]
        public var eventID: String { headers[EventHeaders.messageId] ?? "" }
    }

    /// A publish that is not acknowledged.
    public struct Refused: Error, CustomStringConvertible {
        public var description: String { "the recording publisher refused the message (scripted failure)" }
    }

    private struct State {
        var stored: [Stored] = []
        var ids: Set<String> = []
        var attempts = 0
        var duplicates = 0
        /// For each of the next batches: how many messages are acknowledged before the rest fail.
        var failures: [Int] = []
    }

    public let maxPayload: Int
    private let state = Mutex(State())

    public init(maxPayload: Int = 1_048_576) {
        self.maxPayload = maxPayload
    }

    /// The next batch acknowledges its first `acknowledged` messages and fails the rest.
    public func failNextBatch(after acknowledged: Int) {
        state.withLock { $0.failures.append(acknowledged) }
    }

    /// Messages stored, in order, without duplicates.
    public var stored: [Stored] { state.withLock { $0.stored } }
    /// Messages sent again and dropped as duplicates.
    public var duplicates: Int { state.withLock { $0.duplicates } }
    /// Every message sent, duplicates and failures included.
    public var attempts: Int { state.withLock { $0.attempts } }

    public func publish(_ messages: [OutgoingMessage], timeout: Duration) async throws -> [Result<PubAck, any Error>] {
        state.withLock { state in
            let acknowledged = state.failures.isEmpty ? messages.count : state.failures.removeFirst()
            return messages.enumerated().map { index, message -> Result<PubAck, any Error> in
                state.attempts += 1
                guard index < acknowledged else { return .failure(Refused()) }
                var headers: [String: String] = [:]
                for (name, value) in message.headers { headers[name] = value }
                let id = headers[EventHeaders.messageId] ?? ""
                if state.ids.contains(id) {
                    state.duplicates += 1
                    return .success(PubAck(stream: "recording", sequence: 0, duplicate: true))
                }
                state.ids.insert(id)
                state.stored.append(Stored(subject: message.subject, payload: message.payload, headers: headers))
                return .success(PubAck(stream: "recording", sequence: UInt64(state.stored.count), duplicate: false))
            }
        }
    }
}
