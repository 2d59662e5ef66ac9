import Config
import Foundation
import NATS
import Synchronization
import Testing

func connectNATS(
    _ url: String? = nil, reconnectWait: Duration = .milliseconds(100), tls: TLSFiles? = nil
) async throws -> JetStream {
    let connection = try await NATSConnection.connect(
        NATSClientConfiguration(
            url: try url ?? Stack.url("NATS_URL"), name: "tests", reconnectWait: reconnectWait, tls: tls))
    return try connection.jetStream()
}

/// A stream of its own for each test: name and subject prefix are unique.
func makeStream(_ jetStream: JetStream, storage: StorageKind = .file) async throws -> (name: String, prefix: String) {
    let name = Stack.unique("T").uppercased()
    let prefix = name.lowercased()
    try await jetStream.ensureStream(
        StreamConfiguration(name: name, subjects: ["\(prefix).>"], storage: storage, duplicateWindow: .seconds(120)))
    return (name, prefix)
}

@Suite("NATS JetStream client", .serialized)
struct NATSTests {
    @Test("publish → durable pull fetch → ack, with headers and metadata")
    func publishFetchAck() async throws {
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        for index in 0..<10 {
            let ack = try await jetStream.publish(
                OutgoingMessage(
                    subject: "\(prefix).order.insert", payload: Array("event \(index)".utf8),
                    headers: [("Fraiseql-Cursor", "\(index)")], messageId: "id-\(index)"))
            #expect(ack.stream == stream)
            #expect(ack.sequence == UInt64(index + 1))
            #expect(!ack.duplicate)
        }
        try await jetStream.ensureConsumer(
            stream: stream, ConsumerConfiguration(durableName: "worker", ackWait: .seconds(30)))
        let subscription = try await jetStream.pullSubscribe(stream: stream, consumer: "worker")
        var received: [JetStreamMessage] = []
        while received.count < 10 {
            let batch = try await subscription.fetch(batch: 10, timeout: .seconds(2))
            try #require(!batch.isEmpty, "fetch returned nothing after \(received.count) messages")
            received += batch
        }
        #expect(received.map { String(decoding: $0.payload, as: UTF8.self) } == (0..<10).map { "event \($0)" })
        #expect(received[3].header("Fraiseql-Cursor") == "3")
        #expect(received[3].header("Nats-Msg-Id") == "id-3")
        #expect(received[3].subject == "\(prefix).order.insert")
        #expect(received[3].metadata?.deliveryCount == 1)
        #expect(received[3].metadata?.streamSequence == 4)
        for message in received.dropLast() { try message.ack() }
        try await received.last!.ackSync()
        let info = try await jetStream.consumerInfo(stream: stream, consumer: "worker")
        #expect(info.ackPending == 0)
        #expect(info.pending == 0)
        #expect(try await subscription.fetch(batch: 1, timeout: .milliseconds(200)).isEmpty)
        subscription.unsubscribe()
        try await jetStream.deleteStream(stream)
    }

    @Test("the same Nats-Msg-Id published twice is stored once (sync and pipelined)")
    func duplicates() async throws {
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        let first = try await jetStream.publish(
            OutgoingMessage(subject: "\(prefix).a.insert", payload: [1], messageId: "same"))
        let second = try await jetStream.publish(
            OutgoingMessage(subject: "\(prefix).a.insert", payload: [1], messageId: "same"))
        #expect(!first.duplicate)
        #expect(second.duplicate)
        #expect(second.sequence == first.sequence)
        let batch = (0..<200).map { index in
            OutgoingMessage(
                subject: "\(prefix).a.update", payload: Array("\(index)".utf8), messageId: "batch-\(index % 100)")
        }
        let results = try await jetStream.publishBatch(batch)
        let acks = try results.map { try $0.get() }
        #expect(acks.filter(\.duplicate).count == 100)
        #expect(try await jetStream.streamInfo(stream).messages == 101)
        try await jetStream.deleteStream(stream)
    }

    @Test("nak with a delay is redelivered after the delay, not before")
    func nakWithDelay() async throws {
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        _ = try await jetStream.publish(OutgoingMessage(subject: "\(prefix).a.insert", payload: [42], messageId: "n"))
        try await jetStream.ensureConsumer(
            stream: stream, ConsumerConfiguration(durableName: "w", ackWait: .seconds(30)))
        let subscription = try await jetStream.pullSubscribe(stream: stream, consumer: "w")
        let first = try #require(try await subscription.fetch(batch: 1, timeout: .seconds(2)).first)
        let clock = ContinuousClock()
        let nakedAt = clock.now
        try first.nak(delay: .milliseconds(1500))
        #expect(
            try await subscription.fetch(batch: 1, timeout: .milliseconds(500)).isEmpty, "redelivered before the delay")
        var again: JetStreamMessage?
        while again == nil, clock.now - nakedAt < .seconds(10) {
            again = try await subscription.fetch(batch: 1, timeout: .seconds(1)).first
        }
        let redelivered = try #require(again, "not redelivered")
        #expect(clock.now - nakedAt >= .milliseconds(1400))
        #expect(redelivered.metadata?.deliveryCount == 2)
        #expect(redelivered.payload == [42])
        try redelivered.term()
        #expect(
            try await subscription.fetch(batch: 1, timeout: .milliseconds(300)).isEmpty, "terminated message came back")
        subscription.unsubscribe()
        try await jetStream.deleteStream(stream)
    }

    @Test("in-progress resets the ack timer; an unacked message is redelivered after ack_wait")
    func inProgressAndAckWait() async throws {
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        _ = try await jetStream.publish(OutgoingMessage(subject: "\(prefix).a.insert", payload: [7], messageId: "w"))
        try await jetStream.ensureConsumer(
            stream: stream, ConsumerConfiguration(durableName: "slow", ackWait: .seconds(1)))
        let subscription = try await jetStream.pullSubscribe(stream: stream, consumer: "slow")
        let message = try #require(try await subscription.fetch(batch: 1, timeout: .seconds(2)).first)
        // Keep working past ack_wait, signalling progress: no redelivery meanwhile.
        for _ in 0..<3 {
            try await Task.sleep(for: .milliseconds(600))
            try message.inProgress()
        }
        #expect(
            try await subscription.fetch(batch: 1, timeout: .milliseconds(300)).isEmpty, "redelivered despite progress")
        // Go silent: the server redelivers after ack_wait.
        let again = try #require(try await subscription.fetch(batch: 1, timeout: .seconds(3)).first, "not redelivered")
        #expect(again.metadata?.deliveryCount == 2)
        try await again.ackSync()
        subscription.unsubscribe()
        try await jetStream.deleteStream(stream)
    }

    @Test("continuous pull: every message once, in order, never more than the window requested or buffered")
    func continuousPull() async throws {
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        let count = 1000
        let batch = (0..<count).map { OutgoingMessage(subject: "\(prefix).a.insert", payload: Array("\($0)".utf8)) }
        for result in try await jetStream.publishBatch(batch) { _ = try result.get() }
        try await jetStream.ensureConsumer(
            stream: stream, ConsumerConfiguration(durableName: "c", ackWait: .seconds(30)))
        let pull = try jetStream.continuousPull(stream: stream, consumer: "c", window: 64)
        var sequences: [UInt64] = []
        while sequences.count < count {
            let messages = try await pull.next(max: 50, timeout: .seconds(3))
            try #require(!messages.isEmpty, "nothing after \(sequences.count) messages")
            #expect(messages.count <= 50)
            let (requested, buffered) = pull.outstanding
            #expect(requested + buffered <= 64, "window exceeded: \(requested) requested, \(buffered) buffered")
            for message in messages {
                sequences.append(message.metadata?.streamSequence ?? 0)
                #expect(message.payload == Array("\((message.metadata?.streamSequence ?? 0) - 1)".utf8))
                try message.ack()
            }
        }
        #expect(sequences == (1...UInt64(count)).map { $0 })
        #expect(try await pull.next(max: 10, timeout: .milliseconds(300)).isEmpty)
        try await jetStream.connection.flush()
        let info = try await jetStream.consumerInfo(stream: stream, consumer: "c")
        #expect(info.ackPending == 0)
        #expect(info.pending == 0)
        pull.close()
        try await jetStream.deleteStream(stream)
    }

    @Test("continuous pull: requests that expire are renewed; close hands the buffered messages back at once")
    func continuousPullExpiryAndClose() async throws {
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        try await jetStream.ensureConsumer(
            stream: stream, ConsumerConfiguration(durableName: "c", ackWait: .seconds(30)))
        let pull = try jetStream.continuousPull(stream: stream, consumer: "c", window: 40, expires: .milliseconds(300))
        // Nothing to deliver: the requests expire (408) several times over.
        #expect(try await pull.next(max: 10, timeout: .seconds(1)).isEmpty)
        #expect(pull.outstanding.requested <= 40)
        let batch = (0..<100).map { OutgoingMessage(subject: "\(prefix).a.insert", payload: Array("\($0)".utf8)) }
        for result in try await jetStream.publishBatch(batch) { _ = try result.get() }
        var taken: [JetStreamMessage] = []
        while taken.count < 10 { taken += try await pull.next(max: 10 - taken.count, timeout: .seconds(3)) }
        for message in taken { try message.ack() }
        // Let the window fill, then close: the buffered messages are NAKed, so a fetch gets all
        // 90 others now, long before ack_wait (30 s).
        try await Task.sleep(for: .milliseconds(300))
        #expect(pull.outstanding.buffered > 0)
        pull.close()
        let fetcher = try await jetStream.pullSubscribe(stream: stream, consumer: "c")
        var rest = Set<UInt64>()
        let started = ContinuousClock.now
        while rest.count < 90, ContinuousClock.now - started < .seconds(5) {
            for message in try await fetcher.fetch(batch: 90, timeout: .milliseconds(500)) {
                rest.insert(message.metadata?.streamSequence ?? 0)
                try message.ack()
            }
        }
        #expect(rest == Set(11...100))
        fetcher.unsubscribe()
        try await jetStream.deleteStream(stream)
    }

    @Test("continuous pull: a deleted consumer is reported (not found), not waited on")
    func continuousPullDeletedConsumer() async throws {
        let jetStream = try await connectNATS()
        let (stream, _) = try await makeStream(jetStream)
        try await jetStream.ensureConsumer(
            stream: stream, ConsumerConfiguration(durableName: "c", ackWait: .seconds(30)))
        let pull = try jetStream.continuousPull(stream: stream, consumer: "c", window: 16)
        #expect(try await pull.next(max: 1, timeout: .milliseconds(300)).isEmpty)
        try await jetStream.deleteStream(stream)
        await #expect {
            _ = try await pull.next(max: 1, timeout: .seconds(3))
        } throws: { error in
            (error as? NATSError)?.code == .notFound
        }
        pull.close()
    }

    @Test("continuous pull: after a server restart the lost requests are made again at once")
    func continuousPullServerRestart() async throws {
        let port = try Stack.freePort()
        let directory = try Stack.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = ServerProcess.natsServer(port: port, directory: directory)
        try await server.start(waitForPort: port)
        defer { server.stop() }
        let jetStream = try await connectNATS("nats://127.0.0.1:\(port)", reconnectWait: .milliseconds(100))
        try await jetStream.ensureStream(StreamConfiguration(name: "PULLRESTART", subjects: ["pr.>"]))
        try await jetStream.ensureConsumer(
            stream: "PULLRESTART", ConsumerConfiguration(durableName: "c", ackWait: .seconds(30)))
        // Requests live 60 s: only the reconnect rule can renew them in time for this test.
        let pull = try jetStream.continuousPull(stream: "PULLRESTART", consumer: "c", window: 32, expires: .seconds(60))
        #expect(try await pull.next(max: 1, timeout: .milliseconds(300)).isEmpty)
        server.stop()
        try await Task.sleep(for: .milliseconds(300))
        try await server.start(waitForPort: port)
        let reconnected = ContinuousClock.now
        while jetStream.connection.reconnects == 0, ContinuousClock.now - reconnected < .seconds(5) {
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = try await jetStream.publish(OutgoingMessage(subject: "pr.a.insert", payload: [1]))
        var received: [JetStreamMessage] = []
        while received.isEmpty, ContinuousClock.now - reconnected < .seconds(10) {
            received = (try? await pull.next(max: 1, timeout: .milliseconds(500))) ?? []
        }
        #expect(received.first?.payload == [1], "no delivery after the restart")
        #expect(ContinuousClock.now - reconnected < .seconds(5))
        try received.first?.ack()
        pull.close()
    }

    @Test("messages buffered in the pull window are kept alive; without it they are redelivered after ack_wait")
    func continuousPullKeepAlive() async throws {
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        try await jetStream.ensureConsumer(
            stream: stream, ConsumerConfiguration(durableName: "c", ackWait: .seconds(1)))
        let pull = try jetStream.continuousPull(stream: stream, consumer: "c", window: 10)
        let batch = (0..<5).map { OutgoingMessage(subject: "\(prefix).a.insert", payload: Array("\($0)".utf8)) }
        for result in try await jetStream.publishBatch(batch) { _ = try result.get() }
        #expect(try await eventually(.seconds(3)) { pull.outstanding.buffered == 5 })
        // Nobody takes them for 2.5 s (2.5 × ack_wait), but they are kept alive.
        let fetcher = try await jetStream.pullSubscribe(stream: stream, consumer: "c")
        let started = ContinuousClock.now
        var stolen = 0
        while ContinuousClock.now - started < .milliseconds(2500) {
            pull.keepBufferedAlive(olderThan: .milliseconds(300))
            stolen += try await fetcher.fetch(batch: 5, timeout: .milliseconds(150)).count
        }
        #expect(stolen == 0, "redelivered while buffered and kept alive")
        // Not kept alive any more: the server hands them out again after ack_wait.
        var redelivered: [JetStreamMessage] = []
        let stopped = ContinuousClock.now
        while redelivered.count < 5, ContinuousClock.now - stopped < .seconds(5) {
            redelivered += try await fetcher.fetch(batch: 5, timeout: .milliseconds(500))
        }
        #expect(redelivered.count == 5)
        #expect(redelivered.allSatisfy { ($0.metadata?.deliveryCount ?? 0) >= 2 }, "redeliveries")
        for message in redelivered { try message.ack() }
        // An absurd delay is sent saturated, not a trap.
        if let message = try await pull.next(max: 1, timeout: .milliseconds(10)).first {
            try message.nak(delay: .seconds(Int64.max))
        }
        pull.close()
        fetcher.unsubscribe()
        try await jetStream.deleteStream(stream)
    }

    @Test("message metadata from both forms of the ack subject; anything else is none")
    func ackSubjectMetadata() {
        let old = MessageMetadata(ackSubject: "$JS.ACK.ORDERS.worker.3.1042.977.1700000000123456789.12")
        #expect(old?.stream == "ORDERS")
        #expect(old?.consumer == "worker")
        #expect(old?.deliveryCount == 3)
        #expect(old?.streamSequence == 1042)
        #expect(old?.consumerSequence == 977)
        #expect(old?.timestamp == 1_700_000_000_123_456_789)
        #expect(old?.pending == 12)
        let new = MessageMetadata(
            ackSubject: "$JS.ACK.hub.ACCHASH.ORDERS.worker.1.5.6.1700000000000000000.0.token")
        #expect(new?.stream == "ORDERS")
        #expect(new?.consumer == "worker")
        #expect(new?.deliveryCount == 1)
        #expect(new?.streamSequence == 5)
        #expect(new?.consumerSequence == 6)
        for subject in [
            "", "_INBOX.abc", "$JS.ACK.ORDERS.worker.3.1042.977", "$JS.ACK.ORDERS.worker.x.1042.977.1.12",
            "$JS.NAK.ORDERS.worker.3.1042.977.1.12", "$JS.ACK.ORDERS.worker.3.1042.977.1.12.extra",
            "$JS.ACK.ORDERS.worker.3.99999999999999999999999.977.1.12",
        ] {
            #expect(MessageMetadata(ackSubject: subject) == nil, "\(subject)")
        }
    }

    @Test("an ordered consumer starts at a sequence and reads in order")
    func orderedConsumer() async throws {
        let jetStream = try await connectNATS()
        let (stream, prefix) = try await makeStream(jetStream)
        let results = try await jetStream.publishBatch(
            (1...20).map {
                OutgoingMessage(subject: "\(prefix).o.insert", payload: Array("\($0)".utf8), messageId: "o\($0)")
            })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let subscription = try jetStream.orderedSubscribe(subject: "\(prefix).>", start: .sequence(11))
        var payloads: [String] = []
        while payloads.count < 10, let message = try await subscription.next(timeout: .seconds(2)) {
            payloads.append(String(decoding: message.payload, as: UTF8.self))
        }
        #expect(payloads == (11...20).map(String.init))
        subscription.unsubscribe()
        try await jetStream.deleteStream(stream)
    }

    @Test("ensureStream is idempotent and applies changed settings")
    func ensureStreamIdempotent() async throws {
        let jetStream = try await connectNATS()
        let name = Stack.unique("S").uppercased()
        var configuration = StreamConfiguration(
            name: name, subjects: ["\(name.lowercased()).>"], maxAge: .seconds(3600))
        try await jetStream.ensureStream(configuration)
        try await jetStream.ensureStream(configuration)
        configuration.maxAge = .seconds(7200)
        configuration.duplicateWindow = .seconds(60)
        let info = try await jetStream.ensureStream(configuration)
        #expect(info.maxAge == .seconds(7200))
        #expect(info.duplicateWindow == .seconds(60))
        try await jetStream.deleteStream(name)
        await #expect(throws: NATSError.self) { try await jetStream.streamInfo(name) }
    }

    @Test("connecting to a port without a server fails with a connection error")
    func connectionRefused() async throws {
        let port = try Stack.freePort()
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await NATSConnection.connect(
                NATSClientConfiguration(url: "nats://127.0.0.1:\(port)", maxReconnects: 0))
            Issue.record("connected to nothing")
        } catch let error as NATSError {
            #expect(error.code == .connection)
        }
        #expect(clock.now - start < .seconds(5))
    }

    @Test("a server restart mid-publish: every publish reported acked is in the stream")
    func restartMidPublish() async throws {
        let port = try Stack.freePort()
        let directory = try Stack.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = ServerProcess.natsServer(port: port, directory: directory)
        try await server.start(waitForPort: port)
        let jetStream = try await connectNATS("nats://127.0.0.1:\(port)", reconnectWait: .milliseconds(100))
        let stream = "RESTART"
        try await jetStream.ensureStream(
            StreamConfiguration(name: stream, subjects: ["restart.>"], duplicateWindow: .seconds(120)))

        var acked = Set<String>()
        var failed = 0
        var batchNumber = 0
        let restarted = Flag()
        let restart = Task {
            try await Task.sleep(for: .milliseconds(300))
            server.stop()
            try await Task.sleep(for: .milliseconds(700))
            try await server.start(waitForPort: port)
            restarted.set()
        }
        let clock = ContinuousClock()
        let start = clock.now
        var lastBatchAllAcked = false
        while clock.now - start < .seconds(20) {
            let ids = (0..<200).map { "m-\(batchNumber)-\($0)" }
            batchNumber += 1
            let results = try await jetStream.publishBatch(
                ids.map { OutgoingMessage(subject: "restart.x.insert", payload: Array($0.utf8), messageId: $0) },
                timeout: .seconds(2))
            for (id, result) in zip(ids, results) {
                switch result {
                case .success: acked.insert(id)
                case .failure: failed += 1
                }
            }
            lastBatchAllAcked = results.allSatisfy { (try? $0.get()) != nil }
            if restarted.isSet, lastBatchAllAcked, batchNumber > 5 {
                break
            }
        }
        try await restart.value
        #expect(lastBatchAllAcked, "publishing did not recover after the restart")
        // Read back every stored message id.
        let subscription = try jetStream.orderedSubscribe(subject: "restart.>", start: .all)
        let total = try await jetStream.streamInfo(stream).messages
        var stored = Set<String>()
        while stored.count < total, let message = try await subscription.next(timeout: .seconds(3)) {
            stored.insert(try #require(message.header("Nats-Msg-Id")))
        }
        let missing = acked.subtracting(stored)
        print(
            "restart: \(batchNumber) batches, \(acked.count) acked, \(failed) failed, \(stored.count) stored, \(missing.count) acked but missing"
        )
        #expect(missing.isEmpty, "acked but not stored: \(missing.prefix(5))")
        #expect(acked.count > 1000)
        server.stop()
    }
}

final class Flag: Sendable {
    private let value = Atomic(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
