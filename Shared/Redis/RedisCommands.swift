import Contracts

/// Typed helpers for the commands the fleet uses. Each throws `RedisError(.server)` on an error reply.

/// An entry of a Redis stream.
public struct StreamEntry: Sendable, Hashable {
    public var id: String
    public var fields: [String: [UInt8]]

    public func string(_ field: String) -> String? { fields[field].map { String(decoding: $0, as: UTF8.self) } }

    /// Parses one `[id, [field, value, …]]` entry of an `XRANGE`/`XREADGROUP`/`XAUTOCLAIM` reply.
    public init?(reply value: RESPValue) {
        guard let parts = value.array, parts.count == 2, let id = parts[0].string else { return nil }
        var fields: [String: [UInt8]] = [:]
        let flat = parts[1].array ?? []
        var index = 0
        while index + 1 < flat.count {
            if let name = flat[index].string { fields[name] = flat[index + 1].bytes ?? [] }
            index += 2
        }
        self.id = id
        self.fields = fields
    }
}

public enum SetCondition: Sendable {
    case always
    /// Only if the key does not exist (`NX`).
    case ifNotExists
    /// Only if the key exists (`XX`).
    case ifExists
}

extension RedisClient {
    public func get(_ key: String) async throws -> [UInt8]? {
        let reply = try await execute("GET", [.string(key)])
        return reply.isNull ? nil : reply.bytes
    }

    public func getString(_ key: String) async throws -> String? {
        try await get(key).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `SET key value [NX|XX] [PX ms]`. Returns whether the value was written.
    @discardableResult
    public func set(
        _ key: String, to value: RedisArgument, condition: SetCondition = .always, expiry: Duration? = nil
    ) async throws -> Bool {
        var arguments: [RedisArgument] = [.string(key), value]
        switch condition {
        case .always: break
        case .ifNotExists: arguments.append("NX")
        case .ifExists: arguments.append("XX")
        }
        if let expiry {
            arguments += [
                "PX",
                RedisArgument(
                    max(1, expiry.milliseconds)),
            ]
        }
        return try await execute("SET", arguments) != .null
    }

    @discardableResult
    public func delete(_ keys: [String]) async throws -> Int64 {
        try await execute("DEL", keys.map { .string($0) }).integer ?? 0
    }

    public func exists(_ key: String) async throws -> Bool {
        try await execute("EXISTS", [.string(key)]).integer == 1
    }

    /// Remaining time to live in milliseconds; -1 without expiry, -2 when the key is missing.
    public func pttl(_ key: String) async throws -> Int64 {
        try await execute("PTTL", [.string(key)]).integer ?? -2
    }

    public func increment(_ key: String, by amount: Int64 = 1) async throws -> Int64 {
        guard let value = try await execute("INCRBY", [.string(key), RedisArgument(amount)]).integer else {
            throw RedisError(code: .unexpectedReply, message: "INCRBY did not return an integer")
        }
        return value
    }

    // MARK: Streams

    /// `XADD stream [MAXLEN ~ n] * field value …`; returns the entry id.
    @discardableResult
    public func xadd(
        _ stream: String, fields: [(String, RedisArgument)], id: String = "*", approximateMaxLength: Int? = nil
    ) async throws -> String {
        var arguments: [RedisArgument] = [.string(stream)]
        if let approximateMaxLength { arguments += ["MAXLEN", "~", RedisArgument(approximateMaxLength)] }
        arguments.append(.string(id))
        for (name, value) in fields { arguments += [.string(name), value] }
        guard let entryID = try await execute("XADD", arguments).string else {
            throw RedisError(code: .unexpectedReply, message: "XADD did not return an id")
        }
        return entryID
    }

    public func xlen(_ stream: String) async throws -> Int64 {
        try await execute("XLEN", [.string(stream)]).integer ?? 0
    }

    /// `XGROUP CREATE stream group id MKSTREAM`; an existing group is not an error.
    public func xgroupCreate(_ stream: String, group: String, startID: String = "$") async throws {
        let reply = try await send(
            RedisCommand("XGROUP", ["CREATE", .string(stream), .string(group), .string(startID), "MKSTREAM"]))
        if case .error(let message) = reply, !message.hasPrefix("BUSYGROUP") {
            throw RedisError(code: .server, message: message)
        }
    }

    /// `XREADGROUP GROUP g c COUNT n [BLOCK ms] STREAMS s id`. Use a dedicated client when blocking.
    public func xreadgroup(
        group: String, consumer: String, stream: String, id: String = ">", count: Int, block: Duration? = nil
    ) async throws -> [StreamEntry] {
        var arguments: [RedisArgument] = ["GROUP", .string(group), .string(consumer), "COUNT", RedisArgument(count)]
        var timeout: Duration? = nil
        if let block {
            let milliseconds = block.milliseconds
            arguments += ["BLOCK", RedisArgument(milliseconds)]
            timeout = block + configuration.commandTimeout
        }
        arguments += ["STREAMS", .string(stream), .string(id)]
        let reply = try await send(RedisCommand("XREADGROUP", arguments), timeout: timeout)
        if case .error(let message) = reply { throw RedisError(code: .server, message: message) }
        guard let streams = reply.array else { return [] }
        return streams.flatMap { streamReply -> [StreamEntry] in
            guard let parts = streamReply.array, parts.count == 2 else { return [] }
            return (parts[1].array ?? []).compactMap { StreamEntry(reply: $0) }
        }
    }

    @discardableResult
    public func xack(_ stream: String, group: String, ids: [String]) async throws -> Int64 {
        try await execute("XACK", [.string(stream), .string(group)] + ids.map { .string($0) }).integer ?? 0
    }

    /// `XAUTOCLAIM`: takes entries idle for at least `minIdle` from other consumers.
    /// - Returns: the cursor for the next call (`0-0` when the scan is complete) and the claimed entries.
    public func xautoclaim(
        _ stream: String, group: String, consumer: String, minIdle: Duration, start: String = "0-0", count: Int = 100
    ) async throws -> (next: String, entries: [StreamEntry]) {
        let milliseconds = minIdle.milliseconds
        let reply = try await execute(
            "XAUTOCLAIM",
            [
                .string(stream), .string(group), .string(consumer), RedisArgument(milliseconds), .string(start),
                "COUNT", RedisArgument(count),
            ])
        guard let parts = reply.array, parts.count >= 2, let next = parts[0].string else {
            throw RedisError(code: .unexpectedReply, message: "XAUTOCLAIM returned \(reply)")
        }
        return (next, (parts[1].array ?? []).compactMap { StreamEntry(reply: $0) })
    }

    // MARK: Sorted sets

    @discardableResult
    public func zadd(_ key: String, score: Double, member: RedisArgument) async throws -> Int64 {
        try await execute("ZADD", [.string(key), .string(String(score)), member]).integer ?? 0
    }

    /// Members with `min <= score <= max`, lowest first, with their scores.
    public func zrangeByScore(_ key: String, min: String = "-inf", max: String = "+inf", limit: Int? = nil) async throws
        -> [(member: [UInt8], score: Double)]
    {
        var arguments: [RedisArgument] = [.string(key), .string(min), .string(max), "WITHSCORES"]
        if let limit { arguments += ["LIMIT", "0", RedisArgument(limit)] }
        let flat = try await execute("ZRANGEBYSCORE", arguments).array ?? []
        return stride(from: 0, to: flat.count - 1, by: 2).map { index in
            (flat[index].bytes ?? [], Double(flat[index + 1].string ?? "") ?? 0)
        }
    }

    @discardableResult
    public func zrem(_ key: String, members: [RedisArgument]) async throws -> Int64 {
        try await execute("ZREM", [.string(key)] + members).integer ?? 0
    }

    public func zcard(_ key: String) async throws -> Int64 {
        try await execute("ZCARD", [.string(key)]).integer ?? 0
    }

    public func ping() async throws {
        _ = try await execute("PING")
    }
}
