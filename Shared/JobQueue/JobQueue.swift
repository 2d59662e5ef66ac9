/// JobQueue: the Redis job queue shared by job-worker (consume), observer-worker (enqueue), the CLI
/// and metrics-gateway (inspect, retry and purge the dead-letter queue).
///
/// Layout per queue `q`, under the configured key prefix (default `fraiseql:`):
/// - `jobs:q`: a stream of ready jobs (field `job` = the ``Job`` JSON), consumer group `job-worker`.
///   Finished entries are acknowledged and deleted, so its length is ready + running jobs.
/// - `jobs:q:delayed`: a sorted set of jobs waiting for a retry or `not_before`, scored by due time
///   in milliseconds since the epoch (Redis server clock).
/// - `jobs:q:dlq`: a stream of ``DeadLetter`` JSON (field `dead_letter`).
/// - `jobs:q:unique:<key>`: the id of the pending job holding a uniqueness key.
///
/// Every state change of a fetched job (complete, retry, dead-letter, requeue) is one Lua script
/// that first acknowledges the entry and does nothing more when the entry was no longer pending,
/// so a job reclaimed from a slow worker is never scheduled twice.
import Contracts
import Foundation
import Redis

public final class JobQueue: Sendable {
    public static let consumerGroup = "job-worker"

    public let redis: RedisClient
    public let prefix: String
    /// How long a uniqueness key is held at most (it is released when its job finishes).
    public let uniqueTTL: Duration
    /// Approximate cap of each dead-letter stream (`XADD MAXLEN ~`).
    public let deadLetterMaxLength: Int

    public init(
        redis: RedisClient, prefix: String = "fraiseql:", uniqueTTL: Duration = .seconds(86_400),
        deadLetterMaxLength: Int = 100_000
    ) {
        self.redis = redis
        self.prefix = prefix
        self.uniqueTTL = uniqueTTL
        self.deadLetterMaxLength = deadLetterMaxLength
    }

    public func keys(_ queue: String) -> JobQueueKeys { JobQueueKeys(prefix: prefix, queue: queue) }

    public static func encode(_ value: some Encodable) -> String {
        // Encoding the contract types cannot fail: no floats that are NaN, no custom throwing encoders.
        String(decoding: try! WireFormat.encode(value), as: UTF8.self)
    }

    // MARK: Enqueue

    /// Enqueues `job` on `job.queue`: ready now, or delayed until `not_before`; not at all when its
    /// `unique_key` is held by a pending job.
    @discardableResult
    public func enqueue(_ job: Job) async throws -> EnqueueResult {
        let keys = keys(job.queue)
        let json = Self.encode(job)
        let dueMilliseconds = job.notBefore.map { max(0, $0.microsecondsSinceEpoch / 1000) } ?? 0
        if job.uniqueKey == nil, dueMilliseconds == 0 {
            let id = try await redis.xadd(keys.stream, fields: [("job", .string(json))])
            return .enqueued(entryID: id)
        }
        var scriptKeys = [keys.stream, keys.delayed]
        if let unique = job.uniqueKey { scriptKeys.append(keys.unique(unique)) }
        let reply = try await redis.eval(
            Scripts.enqueue, keys: scriptKeys,
            arguments: [
                .string(json), RedisArgument(dueMilliseconds), .string(job.id.uuidString.lowercased()),
                RedisArgument(uniqueTTL.milliseconds),
            ])
        guard let parts = reply.array, parts.count == 2 else {
            throw RedisError(code: .unexpectedReply, message: "enqueue script returned \(reply)")
        }
        if parts[0].integer == 0 { return .duplicate(existingJobID: parts[1].string ?? "") }
        let entry = parts[1].string ?? ""
        return .enqueued(entryID: entry.isEmpty ? nil : entry)
    }

    /// Enqueues many jobs at once, pipelined (no uniqueness keys or delays: use ``enqueue(_:)`` for those).
    public func enqueueBatch(_ jobs: [Job]) async throws -> [String] {
        precondition(jobs.allSatisfy { $0.uniqueKey == nil && $0.notBefore == nil }, "enqueueBatch: plain jobs only")
        let commands = jobs.map { job in
            RedisCommand("XADD", [.string(keys(job.queue).stream), "*", "job", .string(Self.encode(job))])
        }
        return try await redis.pipeline(commands).map { reply in
            if case .error(let message) = reply { throw RedisError(code: .server, message: message) }
            return reply.string ?? ""
        }
    }

    // MARK: Inspect

    public func depth(_ queue: String) async throws -> QueueDepth {
        let keys = keys(queue)
        let replies = try await redis.pipeline([
            RedisCommand("XLEN", [.string(keys.stream)]),
            RedisCommand("XPENDING", [.string(keys.stream), .string(Self.consumerGroup)]),
            RedisCommand("ZCARD", [.string(keys.delayed)]),
            RedisCommand("XLEN", [.string(keys.deadLetters)]),
        ])
        // XPENDING fails with NOGROUP before any worker created the group: nothing is running then.
        let running = replies[1].array?.first?.integer ?? 0
        return QueueDepth(
            queued: replies[0].integer ?? 0, running: running, delayed: replies[2].integer ?? 0,
            deadLetters: replies[3].integer ?? 0)
    }

    /// Jobs waiting in the delayed set, soonest first, with their due time (ms since the epoch).
    public func delayedJobs(_ queue: String, limit: Int = 100) async throws -> [(job: Job, dueMilliseconds: Int64)] {
        try await redis.zrangeByScore(keys(queue).delayed, limit: limit).compactMap { member, score in
            guard let job = try? JSONDecoder().decode(Job.self, from: Data(member)) else { return nil }
            return (job, Int64(score))
        }
    }

    /// Dead letters, oldest first, with their entry ids.
    public func deadLetters(_ queue: String, count: Int = 100) async throws -> [(entryID: String, letter: DeadLetter)] {
        let reply = try await redis.execute(
            "XRANGE", [.string(keys(queue).deadLetters), "-", "+", "COUNT", RedisArgument(count)])
        return (reply.array ?? []).compactMap { value in
            guard let parts = value.array, parts.count == 2, let id = parts[0].string,
                let fields = parts[1].array, fields.count >= 2, let bytes = fields[1].bytes,
                let letter = try? JSONDecoder().decode(DeadLetter.self, from: Data(bytes))
            else { return nil }
            return (id, letter)
        }
    }

    // MARK: Dead-letter queue

    /// Puts a dead-lettered job back on its queue with its attempts reset. Returns false when the
    /// entry is gone (already retried or purged) or its payload is not a job.
    @discardableResult
    public func retryDeadLetter(_ queue: String, entryID: String) async throws -> Bool {
        let keys = keys(queue)
        let reply = try await redis.execute("XRANGE", [.string(keys.deadLetters), .string(entryID), .string(entryID)])
        guard let entry = reply.array?.first?.array, entry.count == 2, let fields = entry[1].array, fields.count >= 2,
            let bytes = fields[1].bytes, let letter = try? JSONDecoder().decode(DeadLetter.self, from: Data(bytes)),
            var job = try? JSONDecoder().decode(Job.self, from: Data(letter.payload.utf8))
        else { return false }
        job.attempt = 0
        job.firstFailedAt = nil
        job.lastError = nil
        job.notBefore = nil
        let moved = try await redis.eval(
            Scripts.retryDeadLetter, keys: [keys.deadLetters, keys.stream],
            arguments: [.string(entryID), .string(Self.encode(job))])
        return moved.integer == 1
    }

    /// Retries every dead letter of `queue` that is a job and was there when the call started (a
    /// retried job that fails again is not retried again by the same call); returns how many went back.
    public func retryAllDeadLetters(_ queue: String) async throws -> Int {
        let stream = keys(queue).deadLetters
        let newest = try await redis.execute("XREVRANGE", [.string(stream), "+", "-", "COUNT", "1"])
        guard let end = newest.array?.first.flatMap({ StreamEntry(reply: $0) })?.id else { return 0 }
        var retried = 0
        var start = "-"
        while true {
            let page = try await redis.execute(
                "XRANGE", [.string(stream), .string(start), .string(end), "COUNT", "500"])
            let ids = (page.array ?? []).compactMap { StreamEntry(reply: $0)?.id }
            guard let last = ids.last else { return retried }
            for entryID in ids where try await retryDeadLetter(queue, entryID: entryID) { retried += 1 }
            start = "(" + last
        }
    }

    /// Deletes every dead letter of `queue`; returns how many there were.
    @discardableResult
    public func purgeDeadLetters(_ queue: String) async throws -> Int64 {
        let keys = keys(queue)
        let length = try await redis.xlen(keys.deadLetters)
        try await redis.delete([keys.deadLetters])
        return length
    }

    // MARK: Consuming (job-worker)

    /// Creates the consumer group of each queue (and the stream) if missing.
    public func prepare(queues: [String]) async throws {
        for queue in queues {
            try await redis.xgroupCreate(keys(queue).stream, group: Self.consumerGroup, startID: "0")
        }
    }

    /// `XREADGROUP … STREAMS q1 q2 … > >`: new jobs of any of `queues`, at most `count`.
    /// Blocks up to `block`: call it on a client of its own.
    public func fetch(queues: [String], consumer: String, count: Int, block: Duration?, using client: RedisClient)
        async throws -> [FetchedJob]
    {
        var arguments: [RedisArgument] = [
            "GROUP", .string(Self.consumerGroup), .string(consumer), "COUNT", RedisArgument(count),
        ]
        var timeout: Duration? = nil
        if let block {
            arguments += ["BLOCK", RedisArgument(block.milliseconds)]
            timeout = block + client.configuration.commandTimeout
        }
        arguments.append("STREAMS")
        let streams = queues.map { keys($0).stream }
        arguments += streams.map { .string($0) } + queues.map { _ in ">" }
        let reply = try await client.send(RedisCommand("XREADGROUP", arguments), timeout: timeout)
        if case .error(let message) = reply {
            if message.hasPrefix("NOGROUP") { try await prepare(queues: queues) }
            throw RedisError(code: .server, message: message)
        }
        var jobs: [FetchedJob] = []
        for streamReply in reply.array ?? [] {
            guard let parts = streamReply.array, parts.count == 2, let stream = parts[0].string,
                let index = streams.firstIndex(of: stream)
            else { continue }
            for entryReply in parts[1].array ?? [] {
                guard let entry = StreamEntry(reply: entryReply) else { continue }
                jobs.append(Self.decode(entry, queue: queues[index]))
            }
        }
        return jobs
    }

    static func decode(_ entry: StreamEntry, queue: String) -> FetchedJob {
        guard let bytes = entry.fields["job"] else {
            let names = entry.fields.keys.sorted().joined(separator: ", ")
            return FetchedJob(
                queue: queue, entryID: entry.id, raw: "{\(names)}",
                job: .failure(
                    JobQueueError(
                        code: .missingJob, description: "stream entry has no 'job' field (fields: \(names))")))
        }
        let raw = String(decoding: bytes, as: UTF8.self)
        do {
            let job = try JSONDecoder().decode(Job.self, from: Data(bytes))
            return FetchedJob(queue: queue, entryID: entry.id, raw: raw, job: .success(job))
        } catch {
            return FetchedJob(
                queue: queue, entryID: entry.id, raw: raw,
                job: .failure(
                    JobQueueError(
                        code: .malformedJob, description: "not a job: \(Self.describe(error))", underlying: error)))
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): return "invalid JSON (\(context.debugDescription))"
        case DecodingError.keyNotFound(let key, _): return "missing key '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "wrong type at '\(path)': \(context.debugDescription)"
        default: return "\(error)"
        }
    }

    /// Acknowledges and deletes a finished job and releases its uniqueness key.
    /// Returns false when the entry was no longer pending (another worker reclaimed it).
    @discardableResult
    public func complete(_ fetched: FetchedJob) async throws -> Bool {
        let keys = keys(fetched.queue)
        var scriptKeys = [keys.stream]
        var jobID = ""
        if case .success(let job) = fetched.job, let unique = job.uniqueKey {
            scriptKeys.append(keys.unique(unique))
            jobID = job.id.uuidString.lowercased()
        }
        let reply = try await redis.eval(
            Scripts.complete, keys: scriptKeys,
            arguments: [.string(Self.consumerGroup), .string(fetched.entryID), .string(jobID)])
        return reply.integer == 1
    }

    /// Schedules the next attempt of `job` (already updated with its attempt count and error) in
    /// `delay`, measured on the Redis server clock. Returns the due time in ms, or nil when the
    /// entry was no longer pending.
    @discardableResult
    public func scheduleRetry(_ fetched: FetchedJob, job: Job, delay: Duration) async throws -> Int64? {
        let keys = keys(fetched.queue)
        let reply = try await redis.eval(
            Scripts.retry, keys: [keys.stream, keys.delayed],
            arguments: [
                .string(Self.consumerGroup), .string(fetched.entryID), .string(Self.encode(job)),
                RedisArgument(delay.milliseconds),
            ])
        guard let due = reply.integer, due > 0 else { return nil }
        return due
    }

    /// Moves a fetched job to the dead-letter queue and releases its uniqueness key.
    @discardableResult
    public func deadLetter(_ fetched: FetchedJob, letter: DeadLetter) async throws -> Bool {
        let keys = keys(fetched.queue)
        var scriptKeys = [keys.stream, keys.deadLetters]
        var jobID = ""
        if case .success(let job) = fetched.job, let unique = job.uniqueKey {
            scriptKeys.append(keys.unique(unique))
            jobID = job.id.uuidString.lowercased()
        }
        let reply = try await redis.eval(
            Scripts.deadLetter, keys: scriptKeys,
            arguments: [
                .string(Self.consumerGroup), .string(fetched.entryID), .string(Self.encode(letter)), .string(jobID),
                RedisArgument(deadLetterMaxLength),
            ])
        return reply.integer == 1
    }

    /// Puts a fetched job back at the end of its stream as `job` (same attempt count on shutdown,
    /// one more after a reclaim).
    @discardableResult
    public func requeue(_ fetched: FetchedJob, job: Job) async throws -> Bool {
        let keys = keys(fetched.queue)
        let reply = try await redis.eval(
            Scripts.requeue, keys: [keys.stream],
            arguments: [.string(Self.consumerGroup), .string(fetched.entryID), .string(Self.encode(job))])
        return reply.integer == 1
    }

    /// Moves delayed jobs that are due (Redis server clock) back to the ready stream, atomically.
    /// Returns how many moved.
    @discardableResult
    public func promoteDue(_ queue: String, limit: Int = 1000) async throws -> Int {
        let keys = keys(queue)
        let reply = try await redis.eval(
            Scripts.promote, keys: [keys.stream, keys.delayed], arguments: [RedisArgument(limit)])
        return Int(reply.integer ?? 0)
    }

    /// Takes entries idle for at least `visibilityTimeout` (their worker died or hangs) over to `consumer`.
    public func reclaim(_ queue: String, consumer: String, visibilityTimeout: Duration, count: Int = 100)
        async throws -> [FetchedJob]
    {
        var claimed: [FetchedJob] = []
        var cursor = "0-0"
        repeat {
            let (next, entries) = try await redis.xautoclaim(
                keys(queue).stream, group: Self.consumerGroup, consumer: consumer, minIdle: visibilityTimeout,
                start: cursor, count: count)
            claimed += entries.map { Self.decode($0, queue: queue) }
            cursor = next
        } while cursor != "0-0" && claimed.count < count
        return claimed
    }

    /// Removes consumers of the queue's group that have nothing pending and have been idle at
    /// least `idle`: `only` a given one (a worker leaving), or all but `except` (the dead workers'
    /// leftovers, once their jobs were reclaimed). Checked and removed in one script, so a
    /// consumer that holds a job is never removed (removing it would drop the job from the
    /// pending list, out of reach of the reclaimer). A live worker removed while idle is
    /// recreated by its next read. Returns the names removed.
    @discardableResult
    public func removeIdleConsumers(_ queue: String, idle: Duration, only: String? = nil, except: String? = nil)
        async throws -> [String]
    {
        let reply = try await redis.eval(
            Scripts.removeIdleConsumers, keys: [keys(queue).stream],
            arguments: [
                .string(Self.consumerGroup), RedisArgument(Int(idle.milliseconds)), .string(only ?? ""),
                .string(except ?? ""),
            ])
        return (reply.array ?? []).compactMap(\.string)
    }

    /// Resets the idle time of running jobs (`XCLAIM … 0 id JUSTID`), so a job that runs longer
    /// than the visibility timeout is not reclaimed while its worker is alive; only the entries
    /// `consumer` still owns are extended (a heartbeat never takes back a job another worker
    /// reclaimed). Returns the entry ids that are no longer this consumer's.
    @discardableResult
    public func heartbeat(_ queue: String, consumer: String, entryIDs: [String]) async throws -> [String] {
        guard !entryIDs.isEmpty else { return [] }
        let reply = try await redis.eval(
            Scripts.heartbeat, keys: [keys(queue).stream],
            arguments: [.string(Self.consumerGroup), .string(consumer)] + entryIDs.map { .string($0) })
        return (reply.array ?? []).compactMap(\.string)
    }

    /// Milliseconds since the epoch on the Redis server clock (the clock due times use).
    public func serverTimeMilliseconds() async throws -> Int64 {
        let parts = try await redis.execute("TIME").array ?? []
        guard parts.count == 2, let seconds = parts[0].integer, let micros = parts[1].integer else {
            throw RedisError(code: .unexpectedReply, message: "TIME returned \(parts)")
        }
        return seconds * 1000 + micros / 1000
    }
}
