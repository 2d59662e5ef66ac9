import Contracts
import Foundation
import JobQueue
import NATS
import PostgresChangeLog
import Redis

/// Dead letters of the observer (Redis stream, or the `postgres` transport's table) and of the
/// job queues (Redis streams), behind one set of operations.
extension FleetAdmin {
    /// The dead-letter queues this configuration has: the observer's and one per job queue.
    public var deadLetterQueues: [DeadLetterQueue] { [.observer] + configuration.jobs.queues.map { .jobs($0) } }

    func check(_ queue: DeadLetterQueue) throws(AdminError) {
        if case .jobs(let name) = queue, !configuration.jobs.queues.contains(name) {
            throw AdminError(.notFound, "no job queue '\(name)' in [jobs] queues")
        }
    }

    /// The Redis stream that holds `queue`'s letters (nil: the `postgres` transport's table).
    func stream(_ queue: DeadLetterQueue) -> String? {
        switch queue {
        case .observer: usesPostgresTransport ? nil : keys.observerDeadLetters
        case .jobs(let name): keys.jobs(name).deadLetters
        }
    }

    static func entry(_ queue: DeadLetterQueue, _ stream: StreamEntry) -> DeadLetterEntry {
        let bytes = stream.fields["dead_letter"] ?? stream.fields.values.first ?? []
        let letter = try? JSONDecoder().decode(DeadLetter.self, from: Data(bytes))
        return DeadLetterEntry(
            queue: queue.description, id: stream.id, letter: letter,
            raw: letter == nil ? String(decoding: bytes, as: UTF8.self) : nil)
    }

    static func entry(_ queue: DeadLetterQueue, id: UUID, json: String) -> DeadLetterEntry {
        let letter = try? JSONDecoder().decode(DeadLetter.self, from: Data(json.utf8))
        return DeadLetterEntry(
            queue: queue.description, id: id.uuidString.lowercased(), letter: letter, raw: letter == nil ? json : nil)
    }

    /// Up to `count` letters, oldest first, after the entry id `after` (exclusive; nil: from the start).
    public func deadLetters(_ queue: DeadLetterQueue, count: Int = 50, after: String? = nil) async throws
        -> [DeadLetterEntry]
    {
        try check(queue)
        guard (1...1000).contains(count) else { throw AdminError(.invalidArgument, "count must be 1...1000") }
        guard let stream = stream(queue) else {
            return try await withChangeLog { store in
                try await store.deadLetters(count: count, after: try after.map(Self.letterID)).map {
                    Self.entry(queue, id: $0.id, json: $0.json)
                }
            }
        }
        if let after, !Self.isStreamID(after) {
            throw AdminError(.invalidArgument, "'\(after)' is not a stream entry id")
        }
        let start = after.map { "(" + $0 } ?? "-"
        let reply = try await needRedis().execute(
            "XRANGE", [.string(stream), .string(start), "+", "COUNT", RedisArgument(count)])
        return (reply.array ?? []).compactMap { StreamEntry(reply: $0) }.map { Self.entry(queue, $0) }
    }

    /// The newest `count` letters, newest first.
    public func latestDeadLetters(_ queue: DeadLetterQueue, count: Int) async throws -> [DeadLetterEntry] {
        try check(queue)
        guard (1...1000).contains(count) else { throw AdminError(.invalidArgument, "count must be 1...1000") }
        guard let stream = stream(queue) else {
            return try await withChangeLog { store in
                try await store.latestDeadLetters(count: count).map { Self.entry(queue, id: $0.id, json: $0.json) }
            }
        }
        let reply = try await needRedis().execute(
            "XREVRANGE", [.string(stream), "+", "-", "COUNT", RedisArgument(count)])
        return (reply.array ?? []).compactMap { StreamEntry(reply: $0) }.map { Self.entry(queue, $0) }
    }

    static func letterID(_ text: String) throws(AdminError) -> UUID {
        guard let id = UUID(uuidString: text) else {
            throw AdminError(.invalidArgument, "'\(text)' is not a letter id")
        }
        return id
    }

    /// One letter; `notFound` when it is not there.
    public func deadLetter(_ queue: DeadLetterQueue, id: String) async throws -> DeadLetterEntry {
        try check(queue)
        guard let stream = stream(queue) else {
            let uuid = try Self.letterID(id)
            guard let json = try await withChangeLog({ try await $0.deadLetter(uuid) }) else {
                throw AdminError(.notFound, "no dead letter \(id) in \(queue)")
            }
            return Self.entry(queue, id: uuid, json: json)
        }
        guard Self.isStreamID(id) else { throw AdminError(.invalidArgument, "'\(id)' is not a stream entry id") }
        let reply = try await needRedis().execute("XRANGE", [.string(stream), .string(id), .string(id)])
        guard let entry = reply.array?.first.flatMap({ StreamEntry(reply: $0) }) else {
            throw AdminError(.notFound, "no dead letter \(id) in \(queue)")
        }
        return Self.entry(queue, entry)
    }

    static func isStreamID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 2
            && parts.allSatisfy { $0.utf8.allSatisfy { (48...57).contains($0) } && UInt64($0) != nil }
    }

    /// Every letter of `queue`, oldest first, in pages (for stats and retry-all): those there
    /// when the call starts.
    func everyLetter(_ queue: DeadLetterQueue, _ body: (DeadLetterEntry) async throws -> Void) async throws {
        var after: String?
        while true {
            let page = try await deadLetters(queue, count: 500, after: after)
            for entry in page { try await body(entry) }
            guard page.count == 500, let last = page.last else { return }
            after = last.id
        }
    }

    /// Counts by reason and handler, oldest and newest failure.
    public func deadLetterStats(_ queue: DeadLetterQueue) async throws -> DeadLetterStats {
        try check(queue)
        var stats = DeadLetterStats(
            queue: queue.description, count: 0, byReason: [:], byHandler: [:], oldestFailedAt: nil,
            newestFailedAt: nil)
        try await everyLetter(queue) { entry in
            stats.count += 1
            guard let letter = entry.letter else {
                stats.byReason["unreadable", default: 0] += 1
                return
            }
            stats.byReason[letter.reason.rawValue, default: 0] += 1
            stats.byHandler[letter.handler ?? "-", default: 0] += 1
            let failed = letter.lastFailedAt
            if stats.oldestFailedAt.map({ failed < $0 }) ?? true { stats.oldestFailedAt = failed }
            if stats.newestFailedAt.map({ failed > $0 }) ?? true { stats.newestFailedAt = failed }
        }
        return stats
    }

    /// Deletes letters without retrying them; returns how many were there.
    public func removeDeadLetters(_ queue: DeadLetterQueue, ids: [String]) async throws -> Int {
        try check(queue)
        guard !ids.isEmpty else { return 0 }
        guard let stream = stream(queue) else {
            var uuids: [UUID] = []
            for id in ids { uuids.append(try Self.letterID(id)) }
            return try await withChangeLog { try await $0.deleteDeadLetters(uuids) }
        }
        for id in ids where !Self.isStreamID(id) {
            throw AdminError(.invalidArgument, "'\(id)' is not a stream entry id")
        }
        let reply = try await needRedis().execute("XDEL", [.string(stream)] + ids.map { .string($0) })
        return Int(reply.integer ?? 0)
    }

    /// Retries the given letters: an observer letter's event goes back to the workers (the
    /// actions not done run again, through the done marks), a job goes back on its queue with
    /// its attempts reset; the letter is deleted once that is done.
    public func retryDeadLetters(_ queue: DeadLetterQueue, ids: [String]) async throws -> [RetryResult] {
        try check(queue)
        if stream(queue) == nil {
            // One connection for the whole call: the letters are retried back to back.
            return try await withChangeLog { store in
                var results: [RetryResult] = []
                for id in ids { results.append(try await Self.retryPostgres(store, id)) }
                return results
            }
        }
        var results: [RetryResult] = []
        for id in ids {
            do {
                let entry = try await deadLetter(queue, id: id)
                results.append(try await retry(queue, entry))
            } catch let error as AdminError where error.code == .notFound {
                results.append(RetryResult(id: id, outcome: .missing, detail: error.message))
            }
        }
        return results
    }

    /// Retries every letter matching `filter` that is there when the call starts (one that
    /// fails again meanwhile is not retried again by the same call).
    public func retryAllDeadLetters(_ queue: DeadLetterQueue, filter: DeadLetterFilter = .init()) async throws
        -> [RetryResult]
    {
        try check(queue)
        var entries: [DeadLetterEntry] = []
        try await everyLetter(queue) { entry in
            if let letter = entry.letter, filter.matches(letter) { entries.append(entry) }
        }
        if stream(queue) == nil {
            return try await withChangeLog { store in
                var results: [RetryResult] = []
                for entry in entries { results.append(try await Self.retryPostgres(store, entry.id)) }
                return results
            }
        }
        var results: [RetryResult] = []
        for entry in entries { results.append(try await retry(queue, entry)) }
        return results
    }

    private func retry(_ queue: DeadLetterQueue, _ entry: DeadLetterEntry) async throws -> RetryResult {
        guard let letter = entry.letter else {
            return RetryResult(id: entry.id, outcome: .skipped, detail: "not a dead letter (unreadable)")
        }
        if letter.reason == .undecodable {
            return RetryResult(id: entry.id, outcome: .skipped, detail: "undecodable (it would fail again)")
        }
        switch queue {
        case .jobs(let name):
            let retried = try await jobQueue().retryDeadLetter(name, entryID: entry.id)
            return retried
                ? RetryResult(id: entry.id, outcome: .retried, detail: "job back on queue \(name)")
                : RetryResult(id: entry.id, outcome: .missing, detail: "gone, or its payload is not a job")
        case .observer where usesPostgresTransport:
            return try await withChangeLog { try await Self.retryPostgres($0, entry.id) }
        case .observer:
            return try await retryNATS(entry, letter)
        }
    }

    /// Publishes the letter's event again to the subject it came from, then deletes the letter.
    private func retryNATS(_ entry: DeadLetterEntry, _ letter: DeadLetter) async throws -> RetryResult {
        let consumed = "\(configuration.nats.subjectPrefix)."
        guard letter.origin.hasPrefix(consumed) else {
            return RetryResult(
                id: entry.id, outcome: .skipped,
                detail: "\(letter.origin) is not under this configuration's subject prefix")
        }
        let jetStream = try needJetStream()
        do {
            // The letter's own id as message id: the event's (the bridge's) may still be in the
            // stream's duplicate window; the same letter retried twice meanwhile is stored once.
            let ack = try await jetStream.publish(
                OutgoingMessage(
                    subject: letter.origin, payload: Array(letter.payload.utf8),
                    headers: [(EventHeaders.messageId, "replay-\(letter.id.lowercasedString)")]))
            guard ack.stream == configuration.nats.stream.name else {
                return RetryResult(
                    id: entry.id, outcome: .failed,
                    detail: "published to stream \(ack.stream), not \(configuration.nats.stream.name)")
            }
        } catch {
            return RetryResult(id: entry.id, outcome: .failed, detail: "\(error)")
        }
        _ = try await needRedis().execute("XDEL", [.string(keys.observerDeadLetters), .string(entry.id)])
        return RetryResult(
            id: entry.id, outcome: .retried,
            detail: "event \(letter.eventId?.lowercasedString ?? "-") to \(letter.origin)")
    }

    /// Puts the letter's change-log row back in the pending table (or the event back in the
    /// change log when retention deleted its row) and deletes the letter, in one transaction.
    private static func retryPostgres(_ store: ChangeLogStore, _ id: String) async throws -> RetryResult {
        guard let uuid = UUID(uuidString: id) else {
            return RetryResult(id: id, outcome: .missing, detail: "'\(id)' is not a letter id")
        }
        do {
            return try await store.transaction {
                guard let letter = try await store.lockDeadLetter(uuid) else {
                    throw Undone(RetryResult(id: id, outcome: .missing, detail: "no dead letter \(id) in observer"))
                }
                guard let event = try? EntityEvent.decode(Array(letter.payload.utf8), rows: false) else {
                    throw Undone(RetryResult(id: id, outcome: .skipped, detail: "undecodable (it would fail again)"))
                }
                switch try await store.replayDeadLetter(uuid, event: event, payload: letter.payload) {
                case .requeued(let detail):
                    return RetryResult(
                        id: id, outcome: .retried, detail: "event \(event.id.lowercasedString) pending\(detail)")
                case .alreadyPending(let why):
                    throw Undone(RetryResult(id: id, outcome: .failed, detail: why))
                }
            }
        } catch let undone as Undone {
            return undone.result
        }
    }
}

/// A letter left alone: its transaction rolls back.
private struct Undone: Error {
    var result: RetryResult
    init(_ result: RetryResult) { self.result = result }
}
