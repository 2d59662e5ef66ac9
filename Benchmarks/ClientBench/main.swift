// fraiseql-bench: client throughput, printed as one number per run so scripts can compare it
// with the raw server figures (scripts/bench-clients.sh).
//
//   fraiseql-bench nats-publish URL COUNT PAYLOAD_BYTES BATCH
//   fraiseql-bench bridge-drain POSTGRES_URL NATS_URL ROWS          → events/s, mean payload bytes
//   fraiseql-bench bridge-live POSTGRES_URL NATS_URL WRITERS SECONDS RATE (0: as fast as possible)
//       → write rows/s, publish events/s, latency p50 ms, p99 ms, catch-up s
//   fraiseql-bench mysql-drain MYSQL_URL NATS_URL ROWS trigger|binlog
//       → events/s, mean payload bytes, database, binlog file and position capture started at
//   fraiseql-bench redis-set URL COUNT PIPELINE [TASKS]   (TASKS pipelines in flight on one connection)
//   fraiseql-bench worker-fill NATS_URL STREAM SUBJECT_PREFIX COUNT [RATE]   (order update events;
//       with RATE, published live at RATE events/s instead of as fast as possible)
//   fraiseql-bench stream-delete NATS_URL STREAM
//   fraiseql-bench worker-wait NATS_URL STREAM CONSUMER COUNT
//       → events/s from the consumer's first delivery until COUNT are acknowledged
//   fraiseql-bench jobs-drain REDIS_URL KEY_PREFIX QUEUE COUNT
//       enqueues COUNT noop jobs (pipelined) while job-worker processes run, waits until every job
//       is done → jobs/s from the first enqueue to the last completion
//   fraiseql-bench fleet-load POSTGRES_URL RECEIPTS RATE SECONDS WRITERS PID…   (scripts/bench-fleet.sh)
//   fraiseql-bench fleet-raw POSTGRES_URL WRITERS SECONDS   → rows/s without the change-log trigger
//   fraiseql-bench metrics-cost EVENTS   → ns/event of observer-worker's metric calls, on and off
import Contracts
import Foundation
import Hummingbird
import JobQueue
import Logging
import NATS
import Redis

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: fraiseql-bench nats-publish|redis-set …\n".utf8))
    exit(64)
}
let clock = ContinuousClock()

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

switch arguments[1] {
case "nats-publish":
    let url = arguments[2]
    let count = Int(arguments[3])!
    let size = Int(arguments[4])!
    let batchSize = Int(arguments[5])!
    let connection = try await NATSConnection.connect(NATSClientConfiguration(url: url, name: "bench"))
    let jetStream = try connection.jetStream()
    let stream = "BENCH_SWIFT"
    try await jetStream.ensureStream(
        StreamConfiguration(name: stream, subjects: ["bench.swift.>"], duplicateWindow: .seconds(120)))
    let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
    var acked = 0
    var failed = 0
    let start = clock.now
    var next = 0
    while next < count {
        let batch = (next..<min(count, next + batchSize)).map {
            OutgoingMessage(subject: "bench.swift.x.insert", payload: payload, messageId: "swift-\($0)")
        }
        next += batch.count
        for result in try await jetStream.publishBatch(batch, timeout: .seconds(60)) {
            if case .success = result { acked += 1 } else { failed += 1 }
        }
    }
    let elapsed = seconds(clock.now - start)
    print(String(format: "%.0f", Double(acked) / elapsed))
    FileHandle.standardError.write(Data("swift: \(acked) acked, \(failed) failed in \(elapsed) s\n".utf8))
    try await jetStream.deleteStream(stream)
case "redis-set":
    let url = arguments[2]
    let count = Int(arguments[3])!
    let pipeline = Int(arguments[4])!
    let tasks = arguments.count > 5 ? Int(arguments[5])! : 1
    let redis = RedisClient(configuration: try RedisClientConfiguration(url: url))
    // The same command redis-benchmark -t set sends (without -r it does not randomise the key).
    let key: RedisArgument = "key:__rand_int__"
    let value = RedisArgument.bytes([UInt8](repeating: UInt8(ascii: "x"), count: 3))
    try await redis.ping()
    let start = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for task in 0..<tasks {
            group.addTask {
                var sent = task * pipeline
                while sent < count {
                    let commands = (0..<min(pipeline, count - sent)).map { _ in
                        RedisCommand("SET", [key, value])
                    }
                    _ = try await redis.pipeline(commands)
                    sent += pipeline * tasks
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = seconds(clock.now - start)
    print(String(format: "%.0f", Double(count) / elapsed))
    redis.close()
case "worker-fill":
    let connection = try await NATSConnection.connect(NATSClientConfiguration(url: arguments[2], name: "bench"))
    let jetStream = try connection.jetStream()
    let (stream, prefix, count) = (arguments[3], arguments[4], Int(arguments[5])!)
    let rate = arguments.count > 6 ? Int(arguments[6])! : 0
    try await jetStream.ensureStream(
        StreamConfiguration(name: stream, subjects: ["\(prefix).>"], duplicateWindow: .seconds(120)))
    func publish(_ range: Range<Int>) async throws {
        let batch = range.map { orderEvent(index: $0, prefix: prefix) }
        for result in try await jetStream.publishBatch(batch, timeout: .seconds(60)) { _ = try result.get() }
    }
    if rate > 0 {
        // Live traffic: every 5 ms, the events due by then (rate × elapsed time) in one batch.
        let start = clock.now
        var next = 0
        while next < count {
            try await Task.sleep(until: clock.now + .milliseconds(5))
            let due = min(count, Int(seconds(clock.now - start) * Double(rate)))
            if due > next { try await publish(next..<due) }
            next = max(next, due)
        }
        let elapsed = seconds(clock.now - start)
        FileHandle.standardError.write(Data("published \(count) events at \(Int(Double(count) / elapsed))/s\n".utf8))
    } else {
        for first in stride(from: 0, to: count, by: 1000) { try await publish(first..<min(count, first + 1000)) }
    }
    connection.close()
case "consumers":
    // consumers NATS_URL STREAM PREFIX N: N durable consumers on the stream (metrics-gateway's bench).
    let connection = try await NATSConnection.connect(NATSClientConfiguration(url: arguments[2], name: "bench"))
    let jetStream = try connection.jetStream()
    for index in 0..<Int(arguments[5])! {
        _ = try await jetStream.ensureConsumer(
            stream: arguments[3],
            ConsumerConfiguration(durableName: "bench-\(index)", filterSubject: "\(arguments[4]).>"))
    }
    connection.close()
case "stream-delete":
    let connection = try await NATSConnection.connect(NATSClientConfiguration(url: arguments[2], name: "bench"))
    try await connection.jetStream().deleteStream(arguments[3])
case "metrics-cost":
    MetricsCost.main(events: Int(arguments[2])!)
case "worker-wait":
    let connection = try await NATSConnection.connect(NATSClientConfiguration(url: arguments[2], name: "bench"))
    let jetStream = try connection.jetStream()
    let (stream, consumer, count) = (arguments[3], arguments[4], UInt64(arguments[5])!)
    var started: ContinuousClock.Instant?
    while true {
        if let info = try? await jetStream.consumerInfo(stream: stream, consumer: consumer) {
            if started == nil, info.deliveredStreamSequence > 0 { started = clock.now }
            if info.ackFloorStreamSequence >= count { break }
        }
        try await Task.sleep(for: .milliseconds(5))
    }
    let elapsed = seconds(clock.now - started!)
    print(String(format: "%.0f", Double(count) / elapsed))
    connection.close()
case "fleet-load":
    try await FleetBench.load(
        postgresURL: arguments[2], receipts: arguments[3], rate: Int(arguments[4])!,
        seconds: Double(arguments[5])!, writers: Int(arguments[6])!, pids: arguments.dropFirst(7).map { Int32($0)! })
case "fleet-raw":
    try await FleetBench.raw(postgresURL: arguments[2], writers: Int(arguments[3])!, seconds: Double(arguments[4])!)
case "jobs-drain":
    let redis = RedisClient(configuration: try RedisClientConfiguration(url: arguments[2]))
    let queue = JobQueue(redis: redis, prefix: arguments[3])
    let name = arguments[4]
    let count = Int(arguments[5])!
    try await redis.ping()
    let start = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        // Four enqueuers, 500 jobs per pipeline: what an application enqueueing in bulk would do.
        for task in 0..<4 {
            group.addTask {
                var next = task * 500
                while next < count {
                    let batch = (next..<min(count, next + 500)).map { _ in
                        Job(queue: name, kind: "noop", payload: .null)
                    }
                    _ = try await queue.enqueueBatch(batch)
                    next += 2000
                }
            }
        }
        try await group.waitForAll()
    }
    let enqueued = clock.now - start
    var depth = try await queue.depth(name)
    while depth.queued > 0 || depth.running > 0 || depth.delayed > 0 {
        try await Task.sleep(for: .milliseconds(5))
        depth = try await queue.depth(name)
    }
    let elapsed = seconds(clock.now - start)
    print(String(format: "%.0f", Double(count) / elapsed))
    FileHandle.standardError.write(
        Data(
            ("jobs: \(count) enqueued in \(seconds(enqueued)) s, all done after \(elapsed) s;"
                + " dead letters \(depth.deadLetters)\n").utf8))
    redis.close()
case "bridge-drain":
    try await BridgeBench.drain(postgresURL: arguments[2], natsURL: arguments[3], rows: Int(arguments[4])!)
case "mysql-drain":
    try await MySQLBridgeBench.drain(
        mysqlURL: arguments[2], natsURL: arguments[3], rows: Int(arguments[4])!, capture: arguments[5])
case "bridge-live":
    try await BridgeBench.live(
        postgresURL: arguments[2], natsURL: arguments[3], writers: Int(arguments[4])!,
        duration: .seconds(Int(arguments[5])!), rate: Int(arguments[6])!)
default:
    FileHandle.standardError.write(Data("unknown benchmark \(arguments[1])\n".utf8))
    exit(64)
}

/// The order update event `worker-fill` publishes as its `index`th.
func orderEvent(index: Int, prefix: String) -> OutgoingMessage {
    let event = EntityEvent(
        id: UUID(), cursor: Int64(index), source: "bench", entityType: "order", entityId: String(index),
        operation: .update,
        before: [
            "id": .int(Int64(index)), "status": "pending", "total": 80.5, "customer": .string("c-\(index % 97)"),
        ],
        after: ["id": .int(Int64(index)), "status": "paid", "total": 80.5, "customer": .string("c-\(index % 97)")],
        changes: ["status": FieldChange(old: "pending", new: "paid")], occurredAt: .now())
    return OutgoingMessage(
        subject: "\(prefix).order.update", payload: FastJSON.encode(event), messageId: event.id.uuidString.lowercased())
}
