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
    func check(eventID: UUID, actionKeys: [String]) async -> (processed: Bool, done: Set<String>)
    func markDone(eventID: UUID, actionKey: String) async
    func markProcessed(eventID: UUID) async
    func cached(_ key: String) async -> Bool
    func cache(_ key: String, ttl: Duration) async
    func deadLetter(_ letter: DeadLetter) async -> Bool
}

/// Redis keys under the prefix: `observer:processed:<event>` (TTL `dedup_window`),
/// `observer:done:<event>:<observer>#<index>` (TTL `done_ttl`), `observer:cache:<sha256>`, and the
/// stream `observer:dlq` (field `dead_letter`).
struct RedisMarkStore: MarkStore {
    let redis: RedisClient
    let prefix: String
    let dedupWindow: Duration
    let doneTTL: Duration
    let deadLetterMaxLength: Int
    let logger: Logger
    let onError: @Sendable () -> Void

    var deadLetterStream: String { "\(prefix)observer:dlq" }
    func processedKey(_ id: UUID) -> String { "\(prefix)observer:processed:\(id.uuidString.lowercased())" }
    func doneKey(_ id: UUID, _ action: String) -> String {
        "\(prefix)observer:done:\(id.uuidString.lowercased()):\(action)"
    }

    private func failed(_ what: String, _ error: any Error) {
        onError()
        logger.warning(
            "Redis unavailable, continuing without it (fail open)",
            metadata: ["redis.op": "\(what)", "error": "\(error)"])
    }

    func check(eventID: UUID, actionKeys: [String]) async -> (processed: Bool, done: Set<String>) {
        var commands = [RedisCommand("EXISTS", [.string(processedKey(eventID))])]
        if !actionKeys.isEmpty {
            commands.append(RedisCommand("MGET", actionKeys.map { .string(doneKey(eventID, $0)) }))
        }
        do {
            let replies = try await redis.pipeline(commands)
            let processed = replies[0].integer == 1
            var done: Set<String> = []
            if replies.count > 1, let values = replies[1].array {
                for (key, value) in zip(actionKeys, values) where !value.isNull { done.insert(key) }
            }
            return (processed, done)
        } catch {
            failed("check", error)
            return (false, [])
        }
    }

    func markDone(eventID: UUID, actionKey: String) async {
        do {
            try await redis.set(doneKey(eventID, actionKey), to: "1", expiry: doneTTL)
        } catch { failed("mark done", error) }
    }

    func markProcessed(eventID: UUID) async {
        do {
            try await redis.set(processedKey(eventID), to: "1", expiry: dedupWindow)
        } catch { failed("mark processed", error) }
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
