import Contracts
import Foundation
import Redis

/// The Lua scripts, run by SHA (`EVALSHA`) and loaded on first use.
enum Scripts {
    /// KEYS: stream, delayed[, unique]. ARGV: job JSON, due ms (0 = now), job id, unique TTL ms.
    static let enqueue = """
        if #KEYS >= 3 then
          if not redis.call('SET', KEYS[3], ARGV[3], 'NX', 'PX', ARGV[4]) then
            return {0, redis.call('GET', KEYS[3]) or ''}
          end
        end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        if tonumber(ARGV[2]) > now then
          redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
          return {1, ''}
        end
        return {1, redis.call('XADD', KEYS[1], '*', 'job', ARGV[1])}
        """

    /// KEYS: stream[, unique]. ARGV: group, entry id, job id.
    static let complete = """
        local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
        redis.call('XDEL', KEYS[1], ARGV[2])
        if #KEYS >= 2 and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
        return acked
        """

    /// KEYS: stream, delayed. ARGV: group, entry id, job JSON, delay ms. Returns the due time.
    static let retry = """
        if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
        redis.call('XDEL', KEYS[1], ARGV[2])
        local t = redis.call('TIME')
        local due = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[4])
        redis.call('ZADD', KEYS[2], due, ARGV[3])
        return due
        """

    /// KEYS: stream, dlq[, unique]. ARGV: group, entry id, dead letter JSON, job id, dlq max length.
    static let deadLetter = """
        if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
        redis.call('XDEL', KEYS[1], ARGV[2])
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'dead_letter', ARGV[3])
        if #KEYS >= 3 and redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
        return 1
        """

    /// KEYS: stream. ARGV: group, entry id, job JSON.
    static let requeue = """
        if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
        redis.call('XDEL', KEYS[1], ARGV[2])
        redis.call('XADD', KEYS[1], '*', 'job', ARGV[3])
        return 1
        """

    /// KEYS: stream, delayed. ARGV: limit.
    static let promote = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
        for _, job in ipairs(due) do
          redis.call('XADD', KEYS[1], '*', 'job', job)
          redis.call('ZREM', KEYS[2], job)
        end
        return #due
        """

    /// KEYS: stream. ARGV: group, minimum idle ms, only this consumer ('' for any), except this
    /// one ('' for none). No stream or group yet: nothing to remove.
    static let removeIdleConsumers = """
        local removed = {}
        local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
        if not ok then return removed end
        for _, consumer in ipairs(consumers) do
          local name, pending, idle
          for i = 1, #consumer, 2 do
            local field = consumer[i]
            if field == 'name' then name = consumer[i + 1]
            elseif field == 'pending' then pending = consumer[i + 1]
            elseif field == 'idle' then idle = consumer[i + 1] end
          end
          if name and pending == 0 and idle and idle >= tonumber(ARGV[2])
            and (ARGV[3] == '' or name == ARGV[3]) and name ~= ARGV[4] then
            redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)
            table.insert(removed, name)
          end
        end
        return removed
        """

    /// KEYS: stream. ARGV: group, consumer, entry ids. Extends the entries the consumer owns;
    /// returns the others (reclaimed by another worker, or settled).
    static let heartbeat = """
        local lost = {}
        for i = 3, #ARGV do
          local entry = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
          if entry[1] and entry[1][2] == ARGV[2] then
            redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
          else
            table.insert(lost, ARGV[i])
          end
        end
        return lost
        """

    /// KEYS: dlq, stream. ARGV: dlq entry id, job JSON.
    static let retryDeadLetter = """
        if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
        redis.call('XADD', KEYS[2], '*', 'job', ARGV[2])
        return 1
        """
}
