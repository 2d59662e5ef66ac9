import Contracts
import Foundation
import Logging
import Redis
import Synchronization
import Testing

@testable import ObserverWorker

@Suite("observer-worker marks in Redis")
struct MarkStoreTests {
    @Test("a batch's marks over several hashes read back for the right events; every hash written expires")
    func roundTrip() async throws {
        let redis = try redisClient()
        defer { redis.close() }
        let prefix = Stack.unique("marks") + ":"
        let errors = Atomic(0)
        let store = RedisMarkStore(
            redis: redis, reader: redis, prefix: prefix, dedupWindow: .seconds(60), doneTTL: .seconds(120),
            deadLetterMaxLength: 100, logger: Logger(label: "marks"), onError: { errors.add(1, ordering: .relaxed) })
        // Times in the middle of a 100 ms period, whole seconds apart: one hash per second.
        let base = Timestamp.now().microsecondsSinceEpoch / 100_000 * 100_000 + 50_000
        func event(secondsAgo: Int64) -> EntityEvent {
            var event = order(1)
            event.occurredAt = Timestamp(microsecondsSinceEpoch: base - secondsAgo * 1_000_000)
            return event
        }
        let (a, b, c, d, e) = (
            event(secondsAgo: 0), event(secondsAgo: 0), event(secondsAgo: 1), event(secondsAgo: 2), event(secondsAgo: 2)
        )
        let written = await store.mark([
            MarkWrite(a, done: ["x#0"], processed: false),
            MarkWrite(b, done: ["x#0", "y#0"], processed: true),
            MarkWrite(c, done: ["y#0"], processed: false, released: true),
            MarkWrite(c, done: [], processed: false, released: true),
            MarkWrite(d, done: [], processed: false, released: true),
        ])
        #expect(written)
        // One check reads six hashes (done and processed for each second), fields interleaved.
        let states = await store.check([
            MarkCheck(id: a.id, occurredAt: a.occurredAt, actionKeys: ["x#0"]),
            MarkCheck(id: b.id, occurredAt: b.occurredAt, actionKeys: ["x#0", "y#0"]),
            MarkCheck(id: c.id, occurredAt: c.occurredAt, actionKeys: ["x#0", "y#0"], redelivered: true),
            MarkCheck(id: d.id, occurredAt: d.occurredAt, actionKeys: ["x#0"], redelivered: true),
            MarkCheck(id: e.id, occurredAt: e.occurredAt, actionKeys: ["x#0", "y#0"], redelivered: true),
        ])
        #expect(
            states == [
                MarkState(processed: false, done: ["x#0"]),
                MarkState(processed: true, done: ["x#0", "y#0"]),
                MarkState(processed: false, done: ["y#0"], released: 2),
                MarkState(processed: false, done: [], released: 1),
                MarkState(),
            ])
        // Written: the done hashes of the three seconds, the processed hash of one; each expires
        // after its TTL.
        let keys = try await redis.execute("KEYS", [.string("\(prefix)*")]).array?.compactMap(\.string) ?? []
        #expect(keys.count == 4, "\(keys)")
        for key in keys {
            let ttl = try await redis.execute("PTTL", [.string(key)]).integer ?? -1
            let limit = key.contains(":processed:") ? 60_000 : 120_000
            #expect(ttl > limit - 10_000 && ttl <= limit, "\(key) expires in \(ttl) ms")
        }
        #expect(errors.load(ordering: .relaxed) == 0)

        // A command refused inside the transaction (a key of another type) is not a mark.
        let doneHash = RedisKeys(prefix: prefix).observerDone(bucket: base / 100_000 * 100 + 10_000)
        _ = try await redis.execute("SET", [.string(doneHash), "not a hash"])
        let refused = await store.mark([MarkWrite(event(secondsAgo: -10), done: ["x#0"], processed: false)])
        #expect(!refused, "the store reports the mark not written")
        #expect(errors.load(ordering: .relaxed) == 1)
        _ = try await redis.execute("DEL", keys.map { .string($0) } + [.string(doneHash)])
    }
}
