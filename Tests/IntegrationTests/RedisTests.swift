import Foundation
import Redis
import Testing

func redisClient(_ url: String? = nil, commandTimeout: Duration = .seconds(2)) throws -> RedisClient {
    var configuration = try RedisClientConfiguration(url: try url ?? Stack.url("REDIS_URL"))
    configuration.commandTimeout = commandTimeout
    return RedisClient(configuration: configuration)
}

@Suite("Redis client")
struct RedisTests {
    @Test("SET NX PX: only the first writer wins, and the key expires")
    func setNXPX() async throws {
        let redis = try redisClient()
        defer { redis.close() }
        let key = Stack.unique("nx")
        // 30 s: the round trips below cannot outlive it, however loaded the machine (a 2 s expiry
        // once ran out before PTTL was read while the whole suite started in parallel).
        #expect(try await redis.set(key, to: "a", condition: .ifNotExists, expiry: .seconds(30)))
        #expect(try await !redis.set(key, to: "b", condition: .ifNotExists, expiry: .seconds(30)))
        #expect(try await redis.getString(key) == "a")
        let ttl = try await redis.pttl(key)
        #expect(ttl > 0 && ttl <= 30_000)
        // Expiry itself, on a key of its own with a short life: it must vanish.
        let short = Stack.unique("nx-short")
        #expect(try await redis.set(short, to: "s", condition: .ifNotExists, expiry: .milliseconds(300)))
        let clock = ContinuousClock()
        let start = clock.now
        while try await redis.exists(short), clock.now - start < .seconds(10) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try await !redis.exists(short))
        #expect(try await redis.set(short, to: "c", condition: .ifNotExists))
        _ = try await redis.delete([key])
        #expect(try await !redis.set(Stack.unique("xx"), to: "d", condition: .ifExists))
    }

    @Test("stream consumer group round trip; XAUTOCLAIM hands a silent consumer's entries to another")
    func streamsAndAutoclaim() async throws {
        let redis = try redisClient()
        defer { redis.close() }
        let stream = Stack.unique("jobs")
        try await redis.xgroupCreate(stream, group: "workers", startID: "0")
        try await redis.xgroupCreate(stream, group: "workers", startID: "0")  // existing group is fine
        for index in 0..<3 {
            try await redis.xadd(stream, fields: [("job", .string("j\(index)")), ("n", RedisArgument(index))])
        }
        #expect(try await redis.xlen(stream) == 3)
        let taken = try await redis.xreadgroup(group: "workers", consumer: "a", stream: stream, count: 10)
        #expect(taken.map { $0.string("job") } == ["j0", "j1", "j2"])
        #expect(try await redis.xack(stream, group: "workers", ids: [taken[0].id]) == 1)
        // "a" goes silent; after the idle time "b" reclaims what it held.
        try await Task.sleep(for: .milliseconds(120))
        let (next, claimed) = try await redis.xautoclaim(
            stream, group: "workers", consumer: "b", minIdle: .milliseconds(100))
        #expect(next == "0-0")
        #expect(claimed.map { $0.string("job") } == ["j1", "j2"])
        #expect(try await redis.xack(stream, group: "workers", ids: claimed.map(\.id)) == 2)
        let pending = try await redis.execute("XPENDING", [.string(stream), "workers"])
        #expect(pending.array?.first?.integer == 0)
        #expect(try await redis.xreadgroup(group: "workers", consumer: "a", stream: stream, count: 10).isEmpty)
        try await redis.delete([stream])
    }

    @Test("Lua scripts run by SHA and survive SCRIPT FLUSH")
    func luaScript() async throws {
        // A Redis of the test's own: SCRIPT FLUSH on the shared one would pull the scripts from
        // under the tests running beside it (the job-worker's scheduler logged NOSCRIPT).
        let port = try Stack.freePort()
        let directory = try Stack.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = ServerProcess.redisServer(port: port, directory: directory)
        try await server.start(waitForPort: port)
        defer { server.stop() }
        let redis = try redisClient("redis://127.0.0.1:\(port)")
        defer { redis.close() }
        let script = "redis.call('INCRBY', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])"
        let key = Stack.unique("lua")
        #expect(try await redis.eval(script, keys: [key], arguments: ["5"]).integer == 5)
        #expect(try await redis.eval(script, keys: [key], arguments: ["2"]).integer == 7)
        try await redis.execute("SCRIPT", ["FLUSH"])
        #expect(try await redis.eval(script, keys: [key], arguments: ["1"]).integer == 8)
        await #expect(throws: RedisError.self) { try await redis.eval("return redis.call('NOPE')", keys: []) }
        try await redis.delete([key])
    }

    @Test("sorted sets: due items by score, removal, size (the retry schedule's building blocks)")
    func sortedSets() async throws {
        let redis = try redisClient()
        defer { redis.close() }
        let key = Stack.unique("due")
        #expect(try await redis.zadd(key, score: 300, member: "c") == 1)
        #expect(try await redis.zadd(key, score: 100, member: "a") == 1)
        #expect(try await redis.zadd(key, score: 200, member: "b") == 1)
        #expect(try await redis.zadd(key, score: 150, member: "a") == 0)  // score update, not a new member
        let due = try await redis.zrangeByScore(key, max: "200")
        #expect(due.map { String(decoding: $0.member, as: UTF8.self) } == ["a", "b"])
        #expect(due.map(\.score) == [150, 200])
        #expect(try await redis.zrangeByScore(key, limit: 1).count == 1)
        #expect(try await redis.zrem(key, members: ["a", "zz"]) == 1)
        #expect(try await redis.zcard(key) == 2)
        try await redis.delete([key])
    }

    @Test("many tasks pipeline over one connection and each gets its own replies")
    func concurrentPipelining() async throws {
        let redis = try redisClient()
        defer { redis.close() }
        let counter = Stack.unique("counter")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<50 {
                group.addTask {
                    for index in 0..<100 {
                        let key = "\(counter):\(task):\(index)"
                        let replies = try await redis.pipeline([
                            RedisCommand("SET", [.string(key), .string("\(task)-\(index)")]),
                            RedisCommand("INCR", [.string(counter)]),
                            RedisCommand("GET", [.string(key)]),
                            RedisCommand("DEL", [.string(key)]),
                        ])
                        #expect(replies[2].string == "\(task)-\(index)")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await redis.getString(counter) == "5000")
        try await redis.delete([counter])
    }

    @Test("every reply kind round-trips, whole or split across reads; binary and UTF-8 values are exact")
    func replyKinds() async throws {
        let redis = try redisClient()
        defer { redis.close() }
        let key = Stack.unique("kinds")
        // CR, LF and NUL inside a value, a value larger than one socket read, and multi-byte UTF-8.
        let binary: [UInt8] = [13, 10, 0, 36, 45, 43, 58] + (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let text = "héllo wörld ✓ \r\n 日本"
        let commands = [
            RedisCommand("SET", [.string("\(key):bin"), .bytes(binary)]),
            RedisCommand("SET", [.string("\(key):text"), .string(text)]),
            RedisCommand("GET", [.string("\(key):bin")]),
            RedisCommand("GET", [.string("\(key):text")]),
            RedisCommand("GET", [.string("\(key):missing")]),
            RedisCommand("INCRBY", [.string("\(key):n"), "-9007199254740993"]),
            RedisCommand("RPUSH", [.string("\(key):list"), "a", "", "c"]),
            RedisCommand("LRANGE", [.string("\(key):list"), "0", "-1"]),
            RedisCommand("INCR", [.string("\(key):text")]),
            RedisCommand("PING"),
        ]
        for _ in 0..<20 {
            let replies = try await redis.pipeline(commands)
            #expect(replies[0] == .simpleString("OK"))
            #expect(replies[2] == .bulkString(binary))
            #expect(replies[3].string == text)
            #expect(replies[4] == .null)
            #expect(replies[5].integer.map { $0 % 9_007_199_254_740_993 } == 0)
            #expect(
                replies[7] == .array([.bulkString(Array("a".utf8)), .bulkString([]), .bulkString(Array("c".utf8))]))
            guard case .error(let message) = replies[8] else {
                Issue.record("INCR of a non-number should be an error reply, got \(replies[8])")
                return
            }
            #expect(message.contains("not an integer"))
            #expect(replies[9] == .simpleString("PONG"))
            try await redis.delete(["\(key):list"])
        }
        #expect(try await redis.execute("GET", [.string("\(key):n")]).integer == -20 * 9_007_199_254_740_993)
        try await redis.delete(["\(key):bin", "\(key):text", "\(key):n"])
    }

    @Test("Redis down: a clear connection error, fast")
    func redisDown() async throws {
        let redis = try redisClient("redis://127.0.0.1:\(try Stack.freePort())")
        defer { redis.close() }
        let clock = ContinuousClock()
        let start = clock.now
        await #expect {
            try await redis.ping()
        } throws: { error in
            (error as? RedisError)?.code == .connection
        }
        #expect(clock.now - start < .seconds(2))
    }

    @Test("a server that accepts but never answers: the command times out, no hang")
    func commandTimeout() async throws {
        // A listening socket that never reads: the kernel accepts the connection, nobody replies.
        // Bound to port 0 and asked which port it got: a port picked first (Stack.freePort) can be
        // taken by a concurrent test's connection before the bind.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = Stack.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        try #require(bound == 0 && listen(listener, 16) == 0)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let redis = try redisClient("redis://127.0.0.1:\(port)", commandTimeout: .milliseconds(300))
        defer { redis.close() }
        let clock = ContinuousClock()
        let start = clock.now
        await #expect {
            try await redis.ping()
        } throws: { error in
            (error as? RedisError)?.code == .timeout
        }
        let elapsed = clock.now - start
        // Not early, and no hang: on a loaded 2-core machine the 300 ms answer has been seen past 2 s.
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(10))
    }

    @Test("after a Redis restart the client reconnects by itself")
    func reconnect() async throws {
        let port = try Stack.freePort()
        let directory = try Stack.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = ServerProcess.redisServer(port: port, directory: directory)
        try await server.start(waitForPort: port)
        let redis = try redisClient("redis://127.0.0.1:\(port)")
        defer { redis.close() }
        try await redis.set("k", to: "1")
        server.stop()
        await #expect(throws: RedisError.self) { try await redis.get("k") }
        try await server.start(waitForPort: port)
        #expect(try await redis.set("k", to: "2"))
        #expect(try await redis.getString("k") == "2")
        server.stop()
    }
}
