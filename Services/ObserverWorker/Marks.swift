import Contracts
import Foundation
import Logging
import Redis

/// Where the pipeline keeps dedup marks, per-action done marks, the result cache and dead letters.
///
/// Reads fail open: when the store is unreachable an event counts as not processed and its actions
/// as not done, so work is repeated, never dropped. A dead letter that cannot be stored reports
/// false, and the message is NAKed instead of terminated.
protocol MarkStore: Sendable {
    /// For each event: whether it was processed, and which of its actions are done. One round trip.
    func check(_ events: [MarkCheck]) async -> [MarkState]
    /// Records, for each write, its done actions and, when `processed`, the whole event. One round
    /// trip. False when the store could not record them.
    @discardableResult
    func mark(_ writes: [MarkWrite]) async -> Bool
    func cached(_ key: String) async -> Bool
    func cache(_ key: String, ttl: Duration) async
    func deadLetter(_ letter: DeadLetter) async -> Bool
}

extension MarkStore {
    /// Records one event's done actions and, when `processed`, the whole event.
    @discardableResult
    func mark(eventID: UUID, done actionKeys: [String], processed: Bool) async -> Bool {
        await mark([MarkWrite(eventID: eventID, done: actionKeys, processed: processed)])
    }
}

/// The marks to read for one event.
struct MarkCheck: Sendable {
    var id: UUID
    var actionKeys: [String]
    /// Delivered before: its release count is read too (see `MarkWrite.released`).
    var redelivered = false
    /// Whether to read the event's processed mark (see `hasProcessedMark`): a check of a
    /// one-action event reads one key.
    var processed: Bool { Self.hasProcessedMark(actions: actionKeys.count) }

    /// Only events with more than one action have a processed mark: an event with one action is
    /// marked by its done mark alone. Written and read by this one rule.
    static func hasProcessedMark(actions: Int) -> Bool { actions > 1 }
}

struct MarkState: Sendable, Equatable {
    var processed = false
    var done: Set<String> = []
    /// How many of the event's earlier deliveries a worker handed back unattempted or cut short
    /// at shutdown: they do not count toward `max_attempts`.
    var released = 0
}

/// Marks to record for one event: its actions done, and whether the event is processed.
struct MarkWrite: Sendable {
    var eventID: UUID
    var done: [String]
    var processed: Bool
    /// The event goes back to the server at shutdown (NAK) without a real attempt: its release
    /// count goes up by one, so that the redelivery this causes is not counted as an attempt.
    var released = false
}

/// Redis keys under the prefix: `observer:processed:<event>` (TTL `dedup_window`),
/// `observer:done:<event>:<observer>#<index>` (TTL `done_ttl`), `observer:released:<event>` (TTL
/// `done_ttl`), `observer:cache:<sha256>`, and the
/// stream `observer:dlq` (field `dead_letter`).
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

    var deadLetterStream: String { ObserverWorker.deadLetterStream(prefix: prefix) }
    func processedKey(_ id: UUID) -> String { "\(prefix)observer:processed:\(id.lowercasedString)" }
    func releasedKey(_ id: UUID) -> String { "\(prefix)observer:released:\(id.lowercasedString)" }
    func doneKey(_ id: UUID, _ action: String) -> String {
        "\(prefix)observer:done:\(id.lowercasedString):\(action)"
    }

    private func failed(_ what: String, _ error: any Error) {
        onError()
        logger.warning(
            "Redis unavailable, continuing without it (fail open)",
            metadata: ["redis.op": "\(what)", "error": "\(error)"])
    }

    func check(_ events: [MarkCheck]) async -> [MarkState] {
        guard !events.isEmpty else { return [] }
        // One MGET for the whole batch (one command is much cheaper for Redis than one per
        // event): each event's processed mark (events with more than one action), its actions'
        // done marks, and its release count (redelivered events).
        var keys: [RedisArgument] = []
        keys.reserveCapacity(
            events.reduce(0) { $0 + ($1.processed ? 1 : 0) + $1.actionKeys.count + ($1.redelivered ? 1 : 0) })
        for event in events {
            if event.processed { keys.append(.string(processedKey(event.id))) }
            for action in event.actionKeys { keys.append(.string(doneKey(event.id, action))) }
            if event.redelivered { keys.append(.string(releasedKey(event.id))) }
        }
        do {
            let reply = try await reader.pipeline([RedisCommand("MGET", keys)])
            if case .error(let text) = reply.first { throw RedisError(code: .server, message: text) }
            guard let values = reply.first?.array, values.count == keys.count else {
                throw RedisError(
                    code: .server,
                    message: "MGET answered \(reply.first?.array?.count ?? 0) values for \(keys.count) keys")
            }
            var offset = 0
            return events.map { event in
                var processed = false
                if event.processed {
                    processed = !values[offset].isNull
                    offset += 1
                }
                var done: Set<String> = []
                for (index, key) in event.actionKeys.enumerated() where !values[offset + index].isNull {
                    done.insert(key)
                }
                offset += event.actionKeys.count
                var released = 0
                if event.redelivered {
                    released = Int(clamping: values[offset].integer ?? 0)
                    offset += 1
                }
                return MarkState(processed: processed, done: done, released: released)
            }
        } catch {
            failed("check", error)
            return events.map { _ in MarkState() }
        }
    }

    @discardableResult
    func mark(_ writes: [MarkWrite]) async -> Bool {
        let doneTTL = RedisArgument.string(String(self.doneTTL.milliseconds))
        let dedupWindow = RedisArgument.string(String(self.dedupWindow.milliseconds))
        var commands: [RedisCommand] = []
        commands.reserveCapacity(writes.count * 2)
        for write in writes {
            for key in write.done {
                commands.append(RedisCommand("SET", [.string(doneKey(write.eventID, key)), "1", "PX", doneTTL]))
            }
            if write.processed {
                commands.append(RedisCommand("SET", [.string(processedKey(write.eventID)), "1", "PX", dedupWindow]))
            }
            if write.released {
                let key = RedisArgument.string(releasedKey(write.eventID))
                commands.append(RedisCommand("INCR", [key]))
                commands.append(RedisCommand("PEXPIRE", [key, doneTTL]))
            }
        }
        guard !commands.isEmpty else { return true }
        do {
            // An error reply (READONLY after a failover, OOM under `noeviction`) is not a mark.
            for case .error(let text) in try await redis.pipeline(commands) {
                throw RedisError(code: .server, message: text)
            }
            return true
        } catch {
            failed("mark", error)
            return false
        }
    }

    func cached(_ key: String) async -> Bool {
        do {
            return try await redis.exists("\(prefix)observer:cache:\(key)")
        } catch {
            failed("cache read", error)
            return false
        }
    }

    func cache(_ key: String, ttl: Duration) async {
        do {
            try await redis.set("\(prefix)observer:cache:\(key)", to: "1", expiry: ttl)
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
