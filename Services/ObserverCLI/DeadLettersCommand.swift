import ArgumentParser
import Contracts
import FleetClients
import Foundation
import Logging
import NATS
import ObserverWorker
import PostgresChangeLog
import PostgresNIO
import Redis
import Runtime

/// `fraiseql-observer dead-letters`: the observer-worker's dead letters (Redis stream
/// `<prefix>observer:dlq`): list them (the default), or replay them.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract:
            "List or replay observer-worker dead letters (Redis stream observer:dlq; postgres transport: table fraiseql_observer.dead_letters).",
        subcommands: [DeadLettersList.self, DeadLettersReplay.self], defaultSubcommand: DeadLettersList.self)
}

extension FleetConfiguration {
    var deadLetterStream: String { RedisKeys(prefix: redis.keyPrefix).observerDeadLetters }
}

struct DeadLettersList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "The dead letters, oldest first: entry id, then the DeadLetter JSON.")

    @OptionGroup var options: ConfigOption
    @Option(help: "How many.") var count: Int = 20
    @Flag(help: "Print only the count.") var summary = false

    func run() async throws {
        let configuration = try options.load()
        if configuration.observer.transport == "postgres" {
            return try await PostgresDeadLetters.withConnection(configuration) { connection in
                try await PostgresDeadLetters.list(connection, count: count, summary: summary)
            }
        }
        let redis = try FleetClients.redis(configuration, logger: Logger(label: "fraiseql-observer"))
        defer { redis.close() }
        let stream = configuration.deadLetterStream
        if summary {
            print("\(try await redis.xlen(stream)) dead letter(s) in \(stream)")
            return
        }
        let reply = try await redis.execute("XRANGE", [.string(stream), "-", "+", "COUNT", RedisArgument(count)])
        for value in reply.array ?? [] {
            guard let entry = StreamEntry(reply: value), let json = entry.string("dead_letter") else { continue }
            print("\(entry.id) \(json)")
        }
    }
}

/// Publishes each dead letter's event again to the subject it came from, then deletes the
/// letter. The workers take it as a new message (its attempts start again) and, through the
/// done marks (kept `done_ttl`), run only the actions that were not done: an event dead-lettered
/// by one of its two actions gets that action only. Left where they are: undecodable letters
/// (they would fail the same way), letters whose subject this configuration's workers do not
/// consume (another prefix or fleet), those not of `--reason`, and those whose publish failed.
struct DeadLettersReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract:
            "Publish dead-lettered events again (the actions not done run again), then delete the letters; undecodable ones stay."
    )

    @OptionGroup var options: ConfigOption
    @Argument(help: "Dead-letter entry ids (as `dead-letters` prints them); none with --all.") var entryIDs: [String] =
        []
    @Flag(help: "Replay every dead letter there when the command starts.") var all = false
    @Option(help: "Only letters with this reason (permanent_error, retries_exhausted).")
    var reason: String?

    func run() async throws {
        guard all != !entryIDs.isEmpty else { throw ValidationError("give entry ids or --all") }
        let only = try reason.map { name in
            guard let reason = DeadLetter.Reason(rawValue: name), reason != .undecodable else {
                throw ValidationError("--reason is permanent_error or retries_exhausted")
            }
            return reason
        }
        let configuration = try options.load()
        if configuration.observer.transport == "postgres" {
            let ok = try await PostgresDeadLetters.withConnection(configuration) { connection in
                try await PostgresDeadLetters.replay(connection, ids: all ? nil : entryIDs, reason: only)
            }
            if !ok { throw ExitCode(1) }
            return
        }
        let redis = try FleetClients.redis(configuration, logger: Logger(label: "fraiseql-observer"))
        defer { redis.close() }
        let connection = try await options.connectNATS(configuration)
        defer { connection.close() }
        let jetStream = try connection.jetStream()
        let stream = configuration.deadLetterStream
        let consumed = "\(configuration.nats.subjectPrefix)."
        var tally = ReplayTally()
        func replay(_ entry: StreamEntry) async -> ReplayTally.Outcome {
            guard let json = entry.fields["dead_letter"],
                let letter = try? JSONDecoder().decode(DeadLetter.self, from: Data(json))
            else { return .skipped("not a dead letter") }
            if let why = ReplayTally.leftAlone(letter.reason, only: only) { return .skipped(why) }
            guard letter.origin.hasPrefix(consumed) else {
                return .skipped("\(letter.origin) is not under this configuration's subject prefix")
            }
            do {
                // The letter's own id as message id: the event's (the bridge's) may still be in
                // the stream's duplicate window; the same letter replayed twice meanwhile is
                // stored once (a duplicate means it is already there).
                let ack = try await jetStream.publish(
                    OutgoingMessage(
                        subject: letter.origin, payload: Array(letter.payload.utf8),
                        messageId: "replay-\(letter.id.lowercasedString)"))
                guard ack.stream == configuration.nats.stream.name else {
                    return .failed("published to stream \(ack.stream), not \(configuration.nats.stream.name)")
                }
                _ = try await redis.execute("XDEL", [.string(stream), .string(entry.id)])
                return .replayed(" event \(letter.eventId?.lowercasedString ?? "-") to \(letter.origin)")
            } catch {
                return .failed("\(error)")
            }
        }
        if all {
            // The letters there now, in pages of 100 from the oldest: not those the workers add
            // meanwhile (a replayed event that fails again would be replayed again, without end).
            let newest = try await redis.execute("XREVRANGE", [.string(stream), "+", "-", "COUNT", 1])
            let end = newest.array?.first.flatMap { StreamEntry(reply: $0) }?.id ?? "0-0"
            var start = "-"
            while true {
                let page =
                    try await redis.execute(
                        "XRANGE", [.string(stream), .string(start), .string(end), "COUNT", 100]
                    ).array ?? []
                let entries = page.compactMap { StreamEntry(reply: $0) }
                for entry in entries { tally.record(entry.id, await replay(entry)) }
                guard let last = entries.last, page.count == 100 else { break }
                start = "(\(last.id)"
            }
        } else {
            for id in entryIDs {
                let reply = try await redis.execute("XRANGE", [.string(stream), .string(id), .string(id)])
                guard let entry = reply.array?.first.flatMap({ StreamEntry(reply: $0) }) else {
                    tally.record(id, .missing)
                    continue
                }
                tally.record(entry.id, await replay(entry))
            }
        }
        if !tally.finish() { throw ExitCode(1) }
    }
}

/// One replay run, either transport: each letter's outcome printed and counted, then the sum.
struct ReplayTally {
    enum Outcome {
        /// With what to print after "replayed".
        case replayed(String)
        case skipped(String)
        case missing
        case failed(String)
    }

    private var replayed = 0
    private var skipped = 0
    private var missing = 0
    private var failed = 0

    static let undecodable = "undecodable (it would fail again)"

    /// Why a letter of `reason` is left alone, if it is: not of `--reason`, or undecodable.
    static func leftAlone(_ reason: DeadLetter.Reason, only: DeadLetter.Reason?) -> String? {
        if let only, reason != only { return "reason \(reason.rawValue)" }
        return reason == .undecodable ? undecodable : nil
    }

    mutating func record(_ id: String, _ outcome: Outcome) {
        switch outcome {
        case .replayed(let detail):
            print("\(id): replayed\(detail)")
            replayed += 1
        case .skipped(let why):
            print("\(id): skipped, \(why)")
            skipped += 1
        case .missing:
            print("\(id): no such dead letter")
            missing += 1
        case .failed(let why):
            print("\(id): not replayed: \(why)")
            failed += 1
        }
    }

    /// Prints the sum; false when a letter was not found or not replayed.
    func finish() -> Bool {
        print("\(replayed) replayed, \(skipped) skipped, \(missing) not found, \(failed) failed")
        return missing == 0 && failed == 0
    }
}

/// The `postgres` transport's dead letters: rows of `fraiseql_observer.dead_letters`. A replay
/// puts the event's change-log row back in `change_log_pending` (or, when retention deleted the
/// row, the event itself back into the change log from the letter's payload, under the same event
/// id) and deletes the letter, in one transaction; the workers then claim it as a new change
/// (attempts from zero) and, through `observer_done`, run only the actions that were not done.
enum PostgresDeadLetters {
    static let logger = Logger(label: "fraiseql-observer")

    static func withConnection<T>(
        _ configuration: FleetConfiguration, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        guard let url = configuration.postgres.url else {
            throw ConfigOption.exit(
                ConfigError(key: "postgres.url", message: "the 'postgres' observer transport needs [postgres] url"))
        }
        let connection = try await PostgresConnection.connect(
            configuration: try PostgresURL.configuration(url.value), id: 1, logger: logger)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    static func list(_ connection: PostgresConnection, count: Int, summary: Bool) async throws {
        if summary {
            let rows = try await connection.checkedQuery(
                "SELECT count(*)::int8 FROM fraiseql_observer.dead_letters", logger: logger)
            for try await total in rows.decode(Int64.self) {
                print("\(total) dead letter(s) in fraiseql_observer.dead_letters")
            }
            return
        }
        let rows = try await connection.checkedQuery(
            """
            SELECT id, row_to_json(d)::text FROM fraiseql_observer.dead_letters d
             ORDER BY last_failed_at, id LIMIT \(count)
            """, logger: logger)
        for try await (id, json) in rows.decode((UUID, String).self) { print("\(id.lowercasedString) \(json)") }
    }

    /// Replays the given letters (ids), or every letter there now (nil); false when one was not
    /// found or could not be replayed.
    static func replay(_ connection: PostgresConnection, ids: [String]?, reason only: DeadLetter.Reason?)
        async throws -> Bool
    {
        var tally = ReplayTally()
        var letters: [UUID] = []
        if let ids {
            for id in ids {
                guard let uuid = UUID(uuidString: id) else {
                    tally.record(id, .missing)
                    continue
                }
                letters.append(uuid)
            }
        } else {
            // The letters there now: not those the workers add meanwhile.
            let rows = try await connection.checkedQuery(
                "SELECT id FROM fraiseql_observer.dead_letters ORDER BY last_failed_at, id", logger: logger)
            for try await id in rows.decode(UUID.self) { letters.append(id) }
        }
        for id in letters {
            try await connection.checkedQuery("BEGIN", logger: logger)
            let outcome: ReplayTally.Outcome
            do {
                outcome = try await replay(connection, id, only)
                let commit: Bool = if case .replayed = outcome { true } else { false }
                try await connection.checkedQuery(commit ? "COMMIT" : "ROLLBACK", logger: logger)
            } catch {
                _ = try? await connection.checkedQuery("ROLLBACK", logger: logger)
                tally.record(id.lowercasedString, .failed("\(error)"))
                continue
            }
            tally.record(id.lowercasedString, outcome)
        }
        return tally.finish()
    }

    /// One letter, inside the caller's transaction, which commits only a replay.
    private static func replay(_ connection: PostgresConnection, _ id: UUID, _ only: DeadLetter.Reason?)
        async throws -> ReplayTally.Outcome
    {
        // The workers' retention lock, held to the end of the transaction: no purge can delete the
        // change-log row this replay puts back in the pending table (the purge would not see the
        // uncommitted pending entry), and replays are serialised with each other.
        try await connection.checkedQuery(
            "SELECT pg_advisory_xact_lock(hashtext(\(ChangeLogRetention.observerLock)))", logger: logger)
        let rows = try await connection.checkedQuery(
            "SELECT reason, payload FROM fraiseql_observer.dead_letters WHERE id = \(id) FOR UPDATE", logger: logger)
        var letter: (reason: String, payload: String)?
        for try await row in rows.decode((String, String).self) { letter = row }
        guard let letter else { return .missing }
        let reason = DeadLetter.Reason(rawValue: letter.reason) ?? .undecodable
        if let why = ReplayTally.leftAlone(reason, only: only) { return .skipped(why) }
        guard let event = try? EntityEvent.decode(Array(letter.payload.utf8), rows: false) else {
            return .skipped(ReplayTally.undecodable)
        }
        let requeued = try await connection.checkedQuery(
            """
            INSERT INTO fraiseql_observer.change_log_pending (id)
            SELECT id FROM fraiseql_observer.change_log WHERE id = \(event.cursor)
            ON CONFLICT DO NOTHING RETURNING id
            """, logger: logger)
        var found = false
        for try await _ in requeued.decode(Int64.self) { found = true }
        var detail = ""
        if !found {
            // The row is gone (retention deleted it): the letter's payload is the whole event, so
            // it goes back into the change log as a new row with the same event id (its done marks
            // in `observer_done` apply if still kept, `done_ttl`). Not when the row is still there
            // (it is already pending), nor when another letter of the same event put it back and
            // it is pending.
            let recreated = try await connection.checkedQuery(
                """
                INSERT INTO fraiseql_observer.change_log
                    (event_id, entity_type, entity_id, operation, before, after, changes, tenant_id, occurred_at)
                SELECT (p ->> 'id')::uuid, p ->> 'entity_type', p ->> 'entity_id', p ->> 'operation',
                       NULLIF(p -> 'before', 'null'), NULLIF(p -> 'after', 'null'), NULLIF(p -> 'changes', 'null'),
                       p ->> 'tenant_id', (p ->> 'occurred_at')::timestamptz
                  FROM (SELECT \(letter.payload)::jsonb AS p) AS letter
                 WHERE NOT EXISTS (SELECT 1 FROM fraiseql_observer.change_log WHERE id = \(event.cursor))
                   AND NOT EXISTS (SELECT 1 FROM fraiseql_observer.change_log_pending q
                                     JOIN fraiseql_observer.change_log c ON c.id = q.id
                                    WHERE c.event_id = (p ->> 'id')::uuid)
                RETURNING id
                """, logger: logger)
            var row: Int64?
            for try await value in recreated.decode(Int64.self) { row = value }
            guard let row else { return .failed("event \(event.id.lowercasedString) is already pending") }
            try await connection.checkedQuery(
                "INSERT INTO fraiseql_observer.change_log_pending (id) VALUES (\(row))", logger: logger)
            detail = " (change-log row \(event.cursor) was deleted by retention: the event is back as row \(row))"
        }
        try await connection.checkedQuery(
            "DELETE FROM fraiseql_observer.dead_letters WHERE id = \(id)", logger: logger)
        // Wakes the idle workers when the transaction commits, as the triggers do.
        try await connection.checkedQuery(
            PostgresQuery(unsafeSQL: "SELECT pg_notify('\(ChangeLogSchema.notifyChannel)', '')"), logger: logger)
        return .replayed(detail)
    }
}
