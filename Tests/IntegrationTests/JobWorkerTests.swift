import Contracts
import FleetCore
import Foundation
import JobQueue
import JobWorker
import Logging
import Redis
import Runtime
import ServiceLifecycle
import Synchronization
import Testing

/// A job-worker running in this process against the test Redis, on queues of its own key prefix.
struct InProcessWorker {
    let queue: JobQueue
    let redis: RedisClient
    let group: ServiceGroup
    let task: Task<Void, any Error>

    static func start(
        prefix: String = Stack.unique("jq") + ":", queues: [String], concurrency: Int = 8,
        visibilityTimeout: Duration = .seconds(30), shutdownGrace: Duration = .seconds(5),
        configuration: FleetConfiguration = .loopbackJobs
    ) throws -> InProcessWorker {
        let redis = try redisClient()
        let reader = try redisClient()
        let queue = JobQueue(redis: redis, prefix: prefix)
        var logger = Logger(label: "test.job-worker")
        logger.logLevel = .warning
        let worker = JobWorkerService(
            queue: queue, reader: reader,
            settings: JobWorkerSettings(
                queues: queues, concurrency: concurrency, consumer: "test-\(UUID().uuidString.prefix(6))",
                visibilityTimeout: visibilityTimeout, jobTimeout: .seconds(30), shutdownGrace: shutdownGrace,
                schedulerInterval: .milliseconds(20)),
            handlers: try JobWorker.defaultHandlers(configuration), logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: reader), .init(service: worker)], gracefulShutdownSignals: [],
                logger: logger))
        return InProcessWorker(queue: queue, redis: redis, group: group, task: Task { try await group.run() })
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        redis.close()
    }
}

extension FleetConfiguration {
    /// Defaults, with `http` jobs allowed to reach the tests' receivers on 127.0.0.1.
    static var loopbackJobs: FleetConfiguration {
        var configuration = FleetConfiguration()
        configuration.jobs.httpAllowedHosts = ["127.0.0.1"]
        return configuration
    }
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
func eventually(_ timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

func httpJob(queue: String, url: String, maxAttempts: Int = 5, backoff: BackoffPolicy = .default) -> Job {
    Job(
        queue: queue, kind: "http", payload: .object(["url": .string(url), "body": .object(["n": .int(1)])]),
        maxAttempts: maxAttempts, backoff: backoff)
}

/// A config file for a job-worker process on the stack's Redis under `prefix`, with the queue
/// `default` and the `[jobs]` keys in `jobs`; returns its path.
func jobWorkerConfig(prefix: String, level: String = "warning", jobs: String = "") throws -> String {
    let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
    try """
    [log]
    level = "\(level)"
    [redis]
    url = "\(try Stack.url("REDIS_URL"))"
    key_prefix = "\(prefix)"
    [jobs]
    queues = ["default"]
    http_allowed_hosts = ["127.0.0.1"]
    \(jobs)
    """.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite("job-worker", .serialized)
struct JobWorkerTests {
    @Test("each backoff policy produces its documented schedule; the last failure lands in the DLQ")
    func backoffSchedules() async throws {
        let receiver = try await Receiver { _, _ in .init(status: 503, body: "busy") }
        let policies: [(String, BackoffPolicy)] = [
            // Steps of 3 s: a schedule one step off is caught with the 2.9 s allowed for the worker
            // to read the failed response and schedule the retry (284 ms seen on a loaded machine
            // for the first request, which also sets up the connection; over 1.5 s once in a CI
            // run's parallel phase on 2 cores).
            ("fixed", BackoffPolicy(kind: .fixed, baseMilliseconds: 3000, capMilliseconds: 10000)),
            ("linear", BackoffPolicy(kind: .linear, baseMilliseconds: 3000, capMilliseconds: 10000)),
            ("exponential", BackoffPolicy(kind: .exponential, baseMilliseconds: 3000, capMilliseconds: 9000)),
        ]
        let worker = try InProcessWorker.start(queues: policies.map(\.0))
        var jobs: [String: Job] = [:]
        for (name, policy) in policies {
            let job = httpJob(queue: name, url: "\(receiver.url)/\(name)", maxAttempts: 4, backoff: policy)
            jobs[name] = job
            try await worker.queue.enqueue(job)
        }
        // Record each scheduled retry's due time (Redis clock) as it appears in the delayed set.
        var due: [String: [Int: Int64]] = [:]
        let finished = try await eventually(.seconds(90)) {
            for (name, _) in policies {
                for (job, dueMilliseconds) in try await worker.queue.delayedJobs(name) {
                    due[name, default: [:]][job.attempt] = dueMilliseconds
                }
            }
            var letters = 0
            for (name, _) in policies { letters += try await worker.queue.deadLetters(name).count }
            return letters == policies.count
        }
        #expect(finished)
        for (name, policy) in policies {
            let arrivals = receiver.requests.filter { $0.path == "/\(name)" }.map(\.receivedAt)
            #expect(arrivals.count == 4, "\(name): 4 attempts")
            for failure in 1...3 where arrivals.count > failure {
                let expected = policy.delayMilliseconds(afterFailure: failure, random: 0.5)
                // Never earlier than the backoff after the failed attempt (its response follows its arrival).
                #expect(arrivals[failure] - arrivals[failure - 1] >= expected, "\(name) #\(failure) ran early")
                // When the poller saw the retry waiting (it can miss one under load), its due time too.
                guard let dueAt = due[name]?[failure] else { continue }
                // Scheduled `expected` ms after the failed attempt's response (which follows its arrival).
                let scheduledAfter = dueAt - arrivals[failure - 1]
                #expect(
                    scheduledAfter >= expected && scheduledAfter < expected + 2900,
                    "\(name) #\(failure): \(scheduledAfter) ms")
                // And the next attempt did not start before it was due (same host clock; 5 ms slack).
                #expect(arrivals[failure] >= dueAt - 5, "\(name) #\(failure) ran early")
            }
            let letter = try #require(try await worker.queue.deadLetters(name).first?.letter)
            #expect(letter.reason == .retriesExhausted)
            #expect(letter.attempts == 4)
            #expect(letter.lastError.contains("HTTP 503"))
            #expect(letter.origin == "jobs:\(name)")
            let payload = try JSONDecoder().decode(Job.self, from: Data(letter.payload.utf8))
            #expect(payload.id == jobs[name]?.id)
            #expect(letter.firstFailedAt <= letter.lastFailedAt)
        }
        // Every attempt of one job carries the same idempotency key: the job id.
        for (name, job) in jobs {
            let keys = Set(
                receiver.requests.filter { $0.path == "/\(name)" }.compactMap { $0.headers["idempotency-key"] })
            #expect(keys == [job.id.uuidString.lowercased()])
        }
        await worker.stop()
        await receiver.stop()
    }

    @Test("a retry is due exactly its backoff delay after it was scheduled, on the Redis clock")
    func retryDueTime() async throws {
        let redis = try redisClient()
        defer { redis.close() }
        let reader = try redisClient()
        defer { reader.close() }
        let queue = JobQueue(redis: redis, prefix: Stack.unique("jqd") + ":")
        try await queue.prepare(queues: ["q"])
        for kind in BackoffPolicy.Kind.allCases {
            let policy = BackoffPolicy(kind: kind, baseMilliseconds: 1000, capMilliseconds: 5000)
            var job = Job(queue: "q", kind: "noop", payload: .null, backoff: policy)
            try await queue.enqueue(job)
            for failure in 1...4 {
                let fetched = try #require(
                    try await queue.fetch(queues: ["q"], consumer: "c", count: 1, block: nil, using: reader).first)
                job.attempt = failure
                let delay = policy.delayMilliseconds(afterFailure: failure, random: 0.5)
                let before = try await queue.serverTimeMilliseconds()
                let due = try #require(try await queue.scheduleRetry(fetched, job: job, delay: .milliseconds(delay)))
                let after = try await queue.serverTimeMilliseconds()
                #expect(due >= before + delay && due <= after + delay, "\(kind) #\(failure)")
                let expected: Int64 =
                    switch kind {
                    case .fixed: 1000
                    case .linear: min(5000, 1000 * Int64(failure))
                    case .exponential: min(5000, 1000 << (failure - 1))
                    }
                #expect(delay == expected, "\(kind) #\(failure): the documented schedule")
                // Make it due now and move it back, as the scheduler does when the time comes.
                try await redis.execute("ZADD", [.string(queue.keys("q").delayed), "0", .string(JobQueue.encode(job))])
                try await redis.execute("ZREMRANGEBYSCORE", [.string(queue.keys("q").delayed), "1", "+inf"])
                #expect(try await queue.promoteDue("q") == 1)
            }
            let fetched = try #require(
                try await queue.fetch(queues: ["q"], consumer: "c", count: 1, block: nil, using: reader).first)
            #expect(try await queue.complete(fetched))
        }
    }

    @Test("a 400 is permanent: one attempt, then the DLQ; DLQ retry puts the job back and it completes")
    func permanentErrorAndDLQRetry() async throws {
        let accept = Atomic(false)
        let receiver = try await Receiver { _, _ in
            accept.load(ordering: .acquiring) ? .init(status: 204, body: "") : .init(status: 400, body: "bad order")
        }
        let worker = try InProcessWorker.start(queues: ["mail"])
        let job = httpJob(queue: "mail", url: receiver.url + "/hook", maxAttempts: 5)
        try await worker.queue.enqueue(job)
        #expect(try await eventually { try await worker.queue.depth("mail").deadLetters == 1 })
        #expect(receiver.requests.count == 1)
        let (entryID, letter) = try #require(try await worker.queue.deadLetters("mail").first)
        #expect(letter.reason == .permanentError)
        #expect(letter.attempts == 1)
        #expect(letter.lastError.contains("HTTP 400") && letter.lastError.contains("bad order"))
        #expect(letter.handler == "http")

        accept.store(true, ordering: .releasing)
        #expect(try await worker.queue.retryDeadLetter("mail", entryID: entryID))
        #expect(try await !worker.queue.retryDeadLetter("mail", entryID: entryID), "a second retry finds nothing")
        #expect(try await eventually { receiver.requests.count == 2 })
        #expect(
            try await eventually {
                let depth = try await worker.queue.depth("mail")
                return depth == QueueDepth(queued: 0, running: 0, delayed: 0, deadLetters: 0)
            })
        await worker.stop()
        await receiver.stop()
    }

    @Test("a uniqueness key admits one pending job, and is free again once it finished")
    func uniqueness() async throws {
        let worker = try InProcessWorker.start(queues: ["unique"])
        let first = Job(queue: "unique", kind: "sleep", payload: ["ms": 300], uniqueKey: "order-42")
        let second = Job(queue: "unique", kind: "sleep", payload: ["ms": 1], uniqueKey: "order-42")
        #expect(try await worker.queue.enqueue(first) != .duplicate(existingJobID: ""))
        #expect(try await worker.queue.enqueue(second) == .duplicate(existingJobID: first.id.uuidString.lowercased()))
        #expect(try await eventually { try await worker.queue.depth("unique").queued == 0 })
        let third = Job(queue: "unique", kind: "noop", payload: .null, uniqueKey: "order-42")
        guard case .enqueued = try await worker.queue.enqueue(third) else {
            Issue.record("the key should be free after the first job finished")
            return
        }
        await worker.stop()
    }

    @Test("malformed entries and unknown kinds go to the DLQ with their reason; the worker keeps going")
    func malformed() async throws {
        let worker = try InProcessWorker.start(queues: ["bad"])
        let stream = worker.queue.keys("bad").stream
        try await worker.redis.xadd(stream, fields: [("job", "this is not json")])
        try await worker.redis.xadd(stream, fields: [("something", "else")])
        try await worker.redis.xadd(
            stream, fields: [("job", #"{"id":"6f1c1f4e-3b7a-4d44-9d1e-0b5e0f7a9c10","queue":"bad"}"#)])
        try await worker.queue.enqueue(Job(queue: "bad", kind: "teleport", payload: .null))
        try await worker.queue.enqueue(Job(queue: "bad", kind: "sleep", payload: ["ms": "soon"]))
        try await worker.queue.enqueue(Job(queue: "bad", kind: "noop", payload: .null))
        #expect(try await eventually { try await worker.queue.depth("bad").deadLetters == 5 })
        #expect(try await eventually { try await worker.queue.depth("bad").queued == 0 })
        // Jobs run concurrently: dead letters arrive in any order.
        let letters = try await worker.queue.deadLetters("bad").map(\.letter)
        func letter(_ error: String) -> DeadLetter? { letters.first { $0.lastError.contains(error) } }
        #expect(letter("invalid JSON")?.reason == .undecodable)
        #expect(letter("invalid JSON")?.payload == "this is not json")
        #expect(letter("no 'job' field")?.reason == .undecodable)
        #expect(letter("missing key")?.reason == .undecodable)
        #expect(letter("unknown job kind 'teleport'")?.reason == .permanentError)
        #expect(letter("'ms'")?.reason == .permanentError)
        await worker.stop()
    }

    @Test("a job over its timeout is cancelled and counted as a failed attempt")
    func timeout() async throws {
        let worker = try InProcessWorker.start(queues: ["slow"])
        var job = Job(queue: "slow", kind: "sleep", payload: ["ms": 10_000], maxAttempts: 1)
        job.timeoutMilliseconds = 200
        try await worker.queue.enqueue(job)
        #expect(try await eventually(.seconds(5)) { try await worker.queue.depth("slow").deadLetters == 1 })
        let letter = try #require(try await worker.queue.deadLetters("slow").first?.letter)
        #expect(letter.reason == .retriesExhausted && letter.lastError.contains("timed out after"))
        await worker.stop()
    }

    @Test("concurrency is bounded per worker")
    func boundedConcurrency() async throws {
        let receiver = try await Receiver { _, _ in .init(delay: .milliseconds(100)) }
        let worker = try InProcessWorker.start(queues: ["bounded"], concurrency: 3)
        for _ in 0..<12 { try await worker.queue.enqueue(httpJob(queue: "bounded", url: receiver.url)) }
        #expect(try await eventually { try await worker.queue.depth("bounded").queued == 0 })
        let arrivals = receiver.requests.map(\.receivedAt).sorted()
        #expect(arrivals.count == 12)
        // Each request is held 100 ms, so more than 3 arrivals within 100 ms would mean more than 3 at once.
        let overlapping = arrivals.indices.map { index in arrivals[index...].prefix { $0 < arrivals[index] + 100 }.count
        }
        #expect(overlapping.max() ?? 0 <= 3)
        #expect(overlapping.max() ?? 0 >= 2, "jobs ran in parallel at all")
        await worker.stop()
        await receiver.stop()
    }

    @Test("graceful shutdown returns an unfinished job to its queue without counting an attempt")
    func shutdownReturnsJobs() async throws {
        let worker = try InProcessWorker.start(queues: ["long"], shutdownGrace: .milliseconds(200))
        let job = Job(queue: "long", kind: "sleep", payload: ["ms": 30_000])
        try await worker.queue.enqueue(job)
        #expect(try await eventually { try await worker.queue.depth("long").running == 1 })
        await worker.stop()
        let redis = try redisClient()
        defer { redis.close() }
        let queue = JobQueue(redis: redis, prefix: worker.queue.prefix)
        let depth = try await queue.depth("long")
        #expect(depth.queued == 1 && depth.running == 0)
        let entries = try await redis.execute("XRANGE", [.string(worker.queue.keys("long").stream), "-", "+"])
        let raw = try #require(entries.array?.first?.array?[1].array?[1].bytes)
        let returned = try JSONDecoder().decode(Job.self, from: Data(raw))
        #expect(returned.id == job.id && returned.attempt == 0)
        // The worker left the group: no consumer name stays behind after a clean stop.
        #expect(try await consumers(redis, worker.queue.keys("long").stream).isEmpty)
    }

    @Test("idle consumers with nothing pending are removed from the group; one holding a job never is")
    func idleConsumersRemoved() async throws {
        let redis = try redisClient()
        defer { redis.close() }
        let queue = JobQueue(redis: redis, prefix: Stack.unique("jq") + ":")
        try await queue.prepare(queues: ["q"])
        let stream = queue.keys("q").stream
        try await queue.enqueue(Job(queue: "q", kind: "noop", payload: [:]))
        // "holder" reads the job and keeps it; "ghost" and "self" hold nothing.
        _ = try await redis.execute(
            "XREADGROUP",
            ["GROUP", .string(JobQueue.consumerGroup), "holder", "COUNT", "1", "STREAMS", .string(stream), ">"])
        for consumer in ["ghost", "self"] {
            _ = try await redis.execute(
                "XGROUP", ["CREATECONSUMER", .string(stream), .string(JobQueue.consumerGroup), .string(consumer)])
        }
        #expect(try await consumers(redis, stream) == ["ghost": 0, "holder": 1, "self": 0])
        // Not idle long enough: nothing goes.
        #expect(try await queue.removeIdleConsumers("q", idle: .seconds(3600), except: "self").isEmpty)
        try await Task.sleep(for: .milliseconds(20))
        #expect(try await queue.removeIdleConsumers("q", idle: .milliseconds(10), except: "self") == ["ghost"])
        #expect(try await queue.removeIdleConsumers("q", idle: .zero, only: "holder").isEmpty)
        #expect(try await consumers(redis, stream) == ["holder": 1, "self": 0])
        #expect(try await queue.removeIdleConsumers("q", idle: .zero, only: "self") == ["self"])
        // No stream yet: nothing to remove, no error.
        #expect(try await queue.removeIdleConsumers("missing", idle: .zero).isEmpty)
    }
}

/// The consumers of the job-worker group on a stream, with their pending counts.
func consumers(_ redis: RedisClient, _ stream: String) async throws -> [String: Int] {
    let reply = try await redis.execute("XINFO", ["CONSUMERS", .string(stream), .string(JobQueue.consumerGroup)])
    var result: [String: Int] = [:]
    for consumer in reply.array ?? [] {
        let fields = consumer.array ?? []
        var name: String?
        var pending = 0
        for index in stride(from: 0, to: fields.count - 1, by: 2) {
            switch fields[index].string {
            case "name": name = fields[index + 1].string
            case "pending": pending = Int(fields[index + 1].integer ?? 0)
            default: break
            }
        }
        if let name { result[name] = pending }
    }
    return result
}

@Suite("job-worker processes", .serialized)
struct JobWorkerProcessTests {
    @Test("kill -9 mid-job: another worker reclaims the job; the receiver sees one effect per idempotency key")
    func reclaimAfterKill() async throws {
        let firstCall = Atomic(true)
        let receiver = try await Receiver { _, _ in
            // The first delivery hangs (its worker is killed meanwhile); later ones answer at once.
            firstCall.exchange(false, ordering: .acquiringAndReleasing) ? .init(delay: .seconds(60)) : .init()
        }
        let prefix = Stack.unique("jqp") + ":"
        let path = try jobWorkerConfig(prefix: prefix, jobs: #"visibility_timeout = "2s""#)
        let logs = try Stack.temporaryDirectory()
        func worker(_ name: String) throws -> (ServerProcess, Int) {
            try Binaries.service("job-worker", config: path, logFile: logs.appendingPathComponent(name))
        }
        let redis = try redisClient()
        defer { redis.close() }
        let queue = JobQueue(redis: redis, prefix: prefix)
        let job = httpJob(queue: "default", url: receiver.url + "/charge", maxAttempts: 3)
        // The first worker starts on an empty prefix: no stream, no consumer group yet.
        let (first, firstPort) = try worker("first.log")
        try await first.start(waitForPort: firstPort)
        try await queue.enqueue(job)
        #expect(try await eventually { receiver.requests.count == 1 })
        let killedAt = ContinuousClock.now
        #expect(first.stop(kill: true) == 128 + SIGKILL)

        let (second, secondPort) = try worker("second.log")
        try await second.start(waitForPort: secondPort)
        #expect(try await eventually(.seconds(30)) { receiver.requests.count == 2 })
        #expect(
            try await eventually {
                try await queue.depth("default") == QueueDepth(queued: 0, running: 0, delayed: 0, deadLetters: 0)
            })
        let keys = receiver.requests.compactMap { $0.headers["idempotency-key"] }
        #expect(keys == [job.id.uuidString.lowercased(), job.id.uuidString.lowercased()])
        print(
            "job-worker reclaim: raw deliveries \(receiver.requests.count), distinct effects \(Set(keys).count),"
                + " reclaimed after \(ContinuousClock.now - killedAt)")
        #expect(second.stop() == 0, "graceful stop exits 0")
        // A worker that starts before the queue's consumer group exists sets it up quietly.
        for name in ["first.log", "second.log"] {
            let log = try String(contentsOf: logs.appendingPathComponent(name), encoding: .utf8)
            #expect(!log.contains("warning"), "\(name): \(log.prefix(500))")
        }
        await receiver.stop()
    }

    @Test("the CLI enqueues, shows queue depth, lists, retries and purges dead letters")
    func cli() async throws {
        let prefix = Stack.unique("jqc") + ":"
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try """
        [redis]
        url = "\(try Stack.url("REDIS_URL"))"
        key_prefix = "\(prefix)"
        [jobs]
        queues = ["default"]
        """.write(toFile: path, atomically: true, encoding: .utf8)
        func cli(_ arguments: String...) async throws -> String {
            let (code, output) = try await Binaries.output(
                "fraiseql-observer", ["jobs"] + arguments + ["--config", path])
            #expect(code == 0, "fraiseql-observer jobs \(arguments.joined(separator: " "))")
            return output
        }
        #expect(try await cli("enqueue", "teleport", "--payload", #"{"to":"mars"}"#).hasPrefix("enqueued job "))
        let status = try await cli("status").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(status.contains(["default", "1", "0", "0", "0"]), "queued 1, running 0, delayed 0, dlq 0")
        let worker = try InProcessWorker.start(prefix: prefix, queues: ["default"])
        #expect(try await eventually { try await worker.queue.depth("default").deadLetters == 1 })
        let listing = try await cli("dlq", "default")
        #expect(listing.contains("unknown job kind 'teleport'") && listing.contains(#"\"to\":\"mars\""#))
        #expect(try await cli("retry", "default", "--all").contains("retried 1 job(s)"))
        #expect(try await eventually { try await worker.queue.depth("default").deadLetters == 1 })
        #expect(try await cli("purge", "default").contains("purged 1 dead letter(s)"))
        #expect(try await worker.queue.depth("default").deadLetters == 0)
        await worker.stop()
    }

    @Test("Redis outage: job-worker reports not ready, keeps running, and works again when Redis is back")
    func redisOutage() async throws {
        let redisPort = try Stack.freePort()
        let directory = try Stack.temporaryDirectory()
        let redisServer = ServerProcess.redisServer(port: redisPort, directory: directory)
        try await redisServer.start(waitForPort: redisPort)
        let redisURL = "redis://127.0.0.1:\(redisPort)"
        let path = directory.appendingPathComponent("fraiseql.toml").path
        try """
        [log]
        level = "error"
        [redis]
        url = "\(redisURL)"
        command_timeout = "500ms"
        [jobs]
        queues = ["default"]
        http_allowed_hosts = ["127.0.0.1"]
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let (worker, port) = try Binaries.service("job-worker", config: path)
        try await worker.start(waitForPort: port)
        func ready() async -> (Int, String)? { await httpGet("http://127.0.0.1:\(port)/health/ready") }
        #expect(try await eventually(.seconds(10)) { await ready()?.0 == 200 })

        #expect(redisServer.stop() == 0)
        #expect(try await eventually(.seconds(10)) { await ready()?.0 == 503 })
        #expect(await ready()?.1.contains(#""redis":false"#) == true)
        try await Task.sleep(for: .seconds(1))  // the fetch loop meets the outage and backs off

        try await redisServer.start(waitForPort: redisPort)
        #expect(try await eventually(.seconds(10)) { await ready()?.0 == 200 })
        let receiver = try await Receiver()
        let redis = try redisClient(redisURL)
        defer { redis.close() }
        let queue = JobQueue(redis: redis)
        try await queue.enqueue(httpJob(queue: "default", url: receiver.url + "/after-outage"))
        #expect(try await eventually(.seconds(15)) { receiver.requests.count == 1 })
        #expect(worker.stop() == 0)
        redisServer.stop()
        await receiver.stop()
    }
}
