import Foundation
import NATS
import Testing

/// The asynchronous ordered consumer flight-server streams from: many at once hold no thread,
/// a slow reader holds bounded memory, and closing deletes the consumer on the server.
@Suite("NATS ordered consumer", .serialized)
struct OrderedConsumerTests {
    @Test("sixty consumers waiting at once leave publishing and reading working")
    func manyWaiting() async throws {
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        let consumers = try (0..<60).map { index in
            try jetStream.orderedSubscribe(subject: "\(prefix).c\(index).>", start: .new)
        }
        let started = ContinuousClock.now
        // Each waits up to a minute: a design that parks a thread per waiter would hold the 16
        // shared threads that publishes need, and the publishes below would wait for that minute.
        let received = try await withThrowingTaskGroup(of: String?.self) { group in
            for (index, consumer) in consumers.enumerated() {
                group.addTask {
                    let message = try await consumer.next(timeout: .seconds(60))
                    return message.map { "\(index):" + String(decoding: $0.payload, as: UTF8.self) }
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            for index in consumers.indices {
                _ = try await jetStream.publish(
                    OutgoingMessage(subject: "\(prefix).c\(index).insert", payload: Array("m\(index)".utf8)))
            }
            var received: [String] = []
            for try await message in group { if let message { received.append(message) } }
            return received
        }
        #expect(received.sorted() == consumers.indices.map { "\($0):m\($0)" }.sorted())
        #expect(ContinuousClock.now - started < .seconds(30), "the publishes waited for the waiters")
        for consumer in consumers { consumer.close() }
        try await jetStream.deleteStream(stream)
    }

    @Test("a reader that does not read holds at most its buffer; then every message arrives in order")
    func backPressure() async throws {
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        let count = 4_000
        let payload = [UInt8](repeating: 0x61, count: 2_000)
        for start in stride(from: 0, to: count, by: 500) {
            let results = try await jetStream.publishBatch(
                (start..<min(count, start + 500)).map {
                    OutgoingMessage(subject: "\(prefix).bp.insert", payload: Array("\($0):".utf8) + payload)
                })
            #expect(results.allSatisfy { (try? $0.get()) != nil })
        }
        let limit = 64 * 1024
        let consumer = try jetStream.orderedSubscribe(subject: "\(prefix).>", start: .all, bufferBytes: limit)
        try await Task.sleep(for: .seconds(1))
        let held = consumer.buffered
        #expect(held.messages > 0)
        #expect(held.bytes <= limit + payload.count + 64 + 16, "buffered \(held.bytes) bytes")
        var sequences: [UInt64] = []
        while sequences.count < count {
            let batch = try await consumer.next(max: 256, timeout: .seconds(5))
            if batch.isEmpty { break }
            sequences += batch.compactMap { $0.metadata?.streamSequence }
        }
        #expect(sequences == (1...UInt64(count)).map { $0 })
        consumer.close()
        try await jetStream.deleteStream(stream)
    }

    @Test("closing deletes the consumer on the server at once")
    func closeReleases() async throws {
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        let consumer = try jetStream.orderedSubscribe(subject: "\(prefix).>", start: .all)
        let waiting = Task { try await consumer.next(timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await jetStream.streamInfo(stream).consumerCount == 1)
        consumer.close()
        // The waiting reader returns at once, with nothing.
        #expect(try await waiting.value == nil)
        var count = Int64(-1)
        for _ in 0..<50 {
            count = try await jetStream.streamInfo(stream).consumerCount
            if count == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(count == 0)
        try await jetStream.deleteStream(stream)
    }
}
