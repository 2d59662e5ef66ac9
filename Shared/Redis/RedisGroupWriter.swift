import Synchronization

/// Group commit for writes: many tasks each wait for their own commands to be applied, and the
/// commands of all who arrive while a pipeline is in flight go out together as the next pipeline.
/// Under load this turns one round trip (one write and one read system call on each side) per
/// caller into one per batch; an idle writer sends a caller's commands at once.
public final class RedisGroupWriter: Sendable {
    private struct Waiter {
        var count: Int
        var continuation: UnsafeContinuation<Void, any Error>
    }

    private struct State {
        var commands: [RedisCommand] = []
        var waiters: [Waiter] = []
        var flushing = false
    }

    private let client: RedisClient
    private let state = Mutex(State())

    public init(client: RedisClient) {
        self.client = client
    }

    /// Returns when Redis has applied the commands; throws the connection error, or `.server` when
    /// one of these commands got an error reply.
    public func write(_ commands: [RedisCommand]) async throws {
        guard !commands.isEmpty else { return }
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
            let startFlushing = state.withLock { state -> Bool in
                state.commands += commands
                state.waiters.append(Waiter(count: commands.count, continuation: continuation))
                if state.flushing { return false }
                state.flushing = true
                return true
            }
            if startFlushing { Task { await self.flush() } }
        }
    }

    private func flush() async {
        while true {
            let (commands, waiters) = state.withLock { state -> ([RedisCommand], [Waiter]) in
                let batch = (state.commands, state.waiters)
                state.commands = []
                state.waiters = []
                if batch.1.isEmpty { state.flushing = false }
                return batch
            }
            guard !waiters.isEmpty else { return }
            do {
                let replies = try await client.pipeline(commands)
                var offset = 0
                for waiter in waiters {
                    let mine = replies[offset..<offset + waiter.count]
                    offset += waiter.count
                    if let failure = mine.first(where: { if case .error = $0 { true } else { false } }),
                        case .error(let message) = failure
                    {
                        waiter.continuation.resume(throwing: RedisError(code: .server, message: message))
                    } else {
                        waiter.continuation.resume()
                    }
                }
            } catch {
                for waiter in waiters { waiter.continuation.resume(throwing: error) }
            }
        }
    }
}
