import GRPCCore
import Synchronization

/// Per-token limits: calls per second (a token bucket refilled continuously, as deep as one
/// second of calls) and `DoGet` streams open at once. Over either: RESOURCE_EXHAUSTED.
final class FlightLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
        var streams = 0
    }

    private let state = Mutex<[String: Bucket]>([:])
    let requestsPerSecond: Int
    let concurrentStreams: Int

    init(requestsPerSecond: Int, concurrentStreams: Int) {
        self.requestsPerSecond = requestsPerSecond
        self.concurrentStreams = concurrentStreams
    }

    /// Takes one call from `name`'s bucket.
    func admitCall(_ name: String) throws(RPCError) {
        let rate = Double(requestsPerSecond)
        let admitted = state.withLock { buckets -> Bool in
            let now = ContinuousClock.now
            var bucket = buckets[name] ?? Bucket(tokens: rate, updated: now)
            let elapsed = now - bucket.updated
            bucket.tokens = min(rate, bucket.tokens + rate * elapsed.fractionalSeconds)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[name] = bucket
                return false
            }
            bucket.tokens -= 1
            buckets[name] = bucket
            return true
        }
        guard admitted else {
            throw RPCError(
                code: .resourceExhausted, message: "more than \(requestsPerSecond) calls per second for token '\(name)'"
            )
        }
    }

    /// Opens a stream for `name`; ``closeStream(_:)`` must follow.
    func openStream(_ name: String) throws(RPCError) {
        let opened = state.withLock { buckets -> Bool in
            var bucket = buckets[name] ?? Bucket(tokens: Double(requestsPerSecond), updated: .now)
            guard bucket.streams < concurrentStreams else { return false }
            bucket.streams += 1
            buckets[name] = bucket
            return true
        }
        guard opened else {
            throw RPCError(
                code: .resourceExhausted,
                message:
                    "token '\(name)' already has \(concurrentStreams) streams open (flight.limits.concurrent_streams)")
        }
    }

    func closeStream(_ name: String) {
        state.withLock { buckets in buckets[name]?.streams -= 1 }
    }
}
