import Contracts
import Foundation
import Logging
import Redis

/// Marks live in Redis hashes, one per 100 ms of the events' `occurred_at` (`bucket`: that
/// period's start, in Unix milliseconds), under the prefix:
/// - `observer:done:<bucket>`: field `<event>:<observer>#<index>` per action done, and field
///   `<event>` for the event's release count; the hash expires `done_ttl` after its last write;
/// - `observer:processed:<bucket>`: field `<event>` per processed event; expires `dedup_window`
///   after its last write;
/// - `observer:cache:<sha256>` (result cache) and the stream `observer:dlq` (field `dead_letter`).
///
/// Every delivery of an event has the same `occurred_at`, so its marks are always in the same
/// hashes. A batch's marks are one `HSET` per hash it touches (usually one or two) instead of one
/// `SET` per mark, and its check one `HMGET` per hash: Redis spends about a quarter of the time
/// executing them, and ~35% less CPU in a drain (docs/benchmarks.md), on one Redis shared by every
/// worker.
struct RedisMarkStore: MarkStore {
    /// Writes (marks, cache, dead letters).
    let redis: RedisClient
    /// Dedup checks, on a connection of their own so they never queue behind the writes.
    let reader: RedisClient
    let prefix: String
    let dedupWindow: Duration
    let doneTTL: Duration
    let deadLetterMaxLength: Int
    let logger: Logger
    let onError: @Sendable () -> Void

    /// The span of `occurred_at` whose marks share a hash. Short enough that Redis frees an
    /// expiring hash (in one go) in under half a millisecond at 25,000 events/s; long enough that
    /// a fetched batch usually touches one, and that at such rates the hash is a table (over 512
    /// fields), whose writes cost Redis about half as much as a small hash's.
    static let bucketMicroseconds: Int64 = 100_000

    var deadLetterStream: String { RedisKeys(prefix: prefix).observerDeadLetters }

    private static func bucket(_ occurredAt: Timestamp) -> Int64 {
        let micros = occurredAt.microsecondsSinceEpoch
        // Floored, so that a (pre-1970) negative time still falls in one bucket.
        let index = micros >= 0 ? micros / bucketMicroseconds : (micros + 1) / bucketMicroseconds - 1
        return index * (bucketMicroseconds / 1000)
    }

    func doneHash(_ occurredAt: Timestamp) -> String {
        RedisKeys(prefix: prefix).observerDone(bucket: Self.bucket(occurredAt))
    }
    func processedHash(_ occurredAt: Timestamp) -> String {
        RedisKeys(prefix: prefix).observerProcessed(bucket: Self.bucket(occurredAt))
    }

    private func failed(_ what: String, _ error: any Error) {
        onError()
        logger.warning(
            "Redis unavailable, continuing without it (fail open)",
            metadata: ["redis.op": "\(what)", "error": "\(error)"])
    }

    /// Fields grouped by the hash holding them, in the order they were added.
    private struct Fields {
        var hashes: [String] = []
        var fields: [[RedisArgument]] = []
        private var index: [String: Int] = [:]
        /// The hash of each field added, in order.
        var order: [Int] = []

        mutating func add(_ hash: String, _ field: String) {
            let position = touch(hash)
            fields[position].append(.string(field))
            order.append(position)
        }

        /// The hash's position, added (without fields) if new.
        @discardableResult
        mutating func touch(_ hash: String) -> Int {
            if let known = index[hash] { return known }
            index[hash] = hashes.count
            hashes.append(hash)
            fields.append([])
            return hashes.count - 1
        }
    }

    func check(_ events: [MarkCheck]) async -> [MarkState] {
        guard !events.isEmpty else { return [] }
        // One HMGET per hash the batch touches (usually one or two: the done hash of a 100 ms
        // period, and its processed hash for events with several actions), in one round trip: each event's
        // processed mark (events with more than one action), its actions' done marks, and its
        // release count (redelivered events).
        var wanted = Fields()
        for event in events {
            let id = event.id.lowercasedString
            if event.processed { wanted.add(processedHash(event.occurredAt), id) }
            let done = doneHash(event.occurredAt)
            for action in event.actionKeys { wanted.add(done, "\(id):\(action)") }
            if event.redelivered { wanted.add(done, id) }
        }
        let commands = zip(wanted.hashes, wanted.fields).map { hash, fields in
            RedisCommand("HMGET", [.string(hash)] + fields)
        }
        do {
            let replies = try await reader.pipeline(commands)
            var values: [[RESPValue]] = []
            values.reserveCapacity(replies.count)
            for (reply, fields) in zip(replies, wanted.fields) {
                if case .error(let text) = reply { throw RedisError(code: .server, message: text) }
                guard let array = reply.array, array.count == fields.count else {
                    throw RedisError(
                        code: .server,
                        message: "HMGET answered \(reply.array?.count ?? 0) values for \(fields.count) fields")
                }
                values.append(array)
            }
            // The fields come back in the order they were added, per hash.
            var cursors = [Int](repeating: 0, count: values.count)
            var order = wanted.order.makeIterator()
            func next() -> RESPValue {
                guard let hash = order.next() else { return .null }
                defer { cursors[hash] += 1 }
                return values[hash][cursors[hash]]
            }
            var states: [MarkState] = []
            states.reserveCapacity(events.count)
            for event in events {
                var state = MarkState()
                if event.processed { state.processed = !next().isNull }
                for action in event.actionKeys where !next().isNull { state.done.insert(action) }
                if event.redelivered { state.released = Int(clamping: next().integer ?? 0) }
                states.append(state)
            }
            return states
        } catch {
            failed("check", error)
            return events.map { _ in MarkState() }
        }
    }

    @discardableResult
    func mark(_ writes: [MarkWrite]) async -> Bool {
        var done = Fields()
        var processed = Fields()
        var commands: [RedisCommand] = []
        for write in writes {
            let id = write.eventID.lowercasedString
            let hash = doneHash(write.occurredAt)
            for key in write.done { done.add(hash, "\(id):\(key)") }
            if write.processed { processed.add(processedHash(write.occurredAt), id) }
            if write.released {
                commands.append(RedisCommand("HINCRBY", [.string(hash), .string(id), "1"]))
                done.touch(hash)
            }
        }
        // One HSET per hash with fields, and every hash written gets its expiry again.
        for (marks, ttl) in [(done, doneTTL), (processed, dedupWindow)] {
            let ttl = RedisArgument.string(String(ttl.milliseconds))
            for (hash, fields) in zip(marks.hashes, marks.fields) {
                if !fields.isEmpty {
                    var arguments: [RedisArgument] = [.string(hash)]
                    arguments.reserveCapacity(1 + 2 * fields.count)
                    for field in fields { arguments += [field, "1"] }
                    commands.append(RedisCommand("HSET", arguments))
                }
                commands.append(RedisCommand("PEXPIRE", [.string(hash), ttl]))
            }
        }
        guard !commands.isEmpty else { return true }
        do {
            // One transaction, still one round trip: a hash written is always given its expiry
            // (a connection lost between the two would leave a hash that never expires).
            let replies = try await redis.pipeline([RedisCommand("MULTI")] + commands + [RedisCommand("EXEC")])
            // An error reply is not a mark: a command refused when queued (READONLY after a
            // failover, OOM under `noeviction`; EXEC then answers EXECABORT), or a command's own
            // error, in EXEC's answer. The queued command's error comes first: it names the cause.
            for case .error(let text) in replies { throw RedisError(code: .server, message: text) }
            guard let results = replies.last?.array else {
                throw RedisError(code: .server, message: "EXEC answered \(String(describing: replies.last))")
            }
            for case .error(let text) in results { throw RedisError(code: .server, message: text) }
            return true
        } catch {
            failed("mark", error)
            return false
        }
    }

    func cached(_ key: String) async -> Bool {
        do {
            return try await redis.exists(RedisKeys(prefix: prefix).observerResultCache(key))
        } catch {
            failed("cache read", error)
            return false
        }
    }

    func cache(_ key: String, ttl: Duration) async {
        do {
            try await redis.set(RedisKeys(prefix: prefix).observerResultCache(key), to: "1", expiry: ttl)
        } catch { failed("cache write", error) }
    }

    func deadLetter(_ letter: DeadLetter) async -> Bool {
        do {
            let json = String(decoding: try WireFormat.encode(letter), as: UTF8.self)
            try await redis.xadd(
                deadLetterStream, fields: [("dead_letter", .string(json))], approximateMaxLength: deadLetterMaxLength)
            return true
        } catch {
            failed("dead letter", error)
            return false
        }
    }
}
