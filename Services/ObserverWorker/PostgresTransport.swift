import BridgeEngine
import Contracts
import Foundation
import Logging
import Metrics
import PostgresChangeLog
import PostgresNIO
import Runtime
import ServiceLifecycle
import Synchronization

/// The `postgres` transport: the smallest deployment, PostgreSQL only (no NATS, no Redis).
///
/// Workers read the change log that `install` created (the bridge's triggers) directly. Each batch
/// is claimed in a transaction with `FOR UPDATE SKIP LOCKED`, so several workers share the work;
/// the rows' pending entries stay locked while their actions run, and the transaction settles them:
/// it deletes the pending entry (`change_log_pending`) of done or dead-lettered rows and writes
/// `observer_attempts` (attempts, not before) for retries. A worker that dies rolls its claim back
/// and another one takes the rows; the per-action done marks
/// (`observer_done`) are committed on their own connection as each action succeeds, so a retried
/// row never repeats a finished action. Dead letters go to `fraiseql_observer.dead_letters`.
final class PostgresObserverTransport: Service, Sendable {
    static let ddl = [
        "CREATE SCHEMA IF NOT EXISTS fraiseql_observer",
        """
        CREATE TABLE IF NOT EXISTS fraiseql_observer.observer_done (
            event_id uuid NOT NULL,
            action_key text NOT NULL,
            done_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (event_id, action_key))
        """,
        """
        CREATE TABLE IF NOT EXISTS fraiseql_observer.observer_attempts (
            change_id bigint PRIMARY KEY,
            attempts int NOT NULL,
            not_before timestamptz NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS fraiseql_observer.dead_letters (
            id uuid PRIMARY KEY,
            origin text NOT NULL,
            reason text NOT NULL,
            event_id uuid,
            handler text,
            attempts int NOT NULL,
            last_error text NOT NULL,
            payload text NOT NULL,
            first_failed_at timestamptz NOT NULL,
            last_failed_at timestamptz NOT NULL)
        """,
        // For retention (below): done marks by age, dead letters newest first (and listed oldest
        // first by the CLI).
        "CREATE INDEX IF NOT EXISTS observer_done_done_at ON fraiseql_observer.observer_done (done_at)",
        """
        CREATE INDEX IF NOT EXISTS dead_letters_last_failed_at
            ON fraiseql_observer.dead_letters (last_failed_at, id)
        """,
    ]

    /// What `ddl` creates: when they all exist, a worker runs no DDL (its role needs no DDL rights).
    static let objects = [
        "observer_done", "observer_attempts", "dead_letters", "observer_done_done_at", "dead_letters_last_failed_at",
    ]

    /// What this topology keeps, and for how long: the NATS topology's limits, enforced here by the
    /// workers (pg-bridge does not run): settled change-log rows for `bridge.retention` (by capture
    /// time), done marks for `observer.done_ttl`, the newest `observer.dlq_max_length` dead
    /// letters. One worker at a time purges (an advisory lock, which a dead-letter replay takes
    /// too), when it connects and then every `interval`, 1,000 rows per transaction.
    struct Retention: Sendable {
        var changeLog: Duration
        var doneMarks: Duration
        var deadLetters: Int
        var interval: Duration = .seconds(60)
    }

    let pipeline: ObserverPipeline
    let configuration: PostgresConnection.Configuration
    let batchSize: Int
    let pollInterval: Duration
    let retention: Retention
    /// The events' `source`: `bridge.transport_name`, as pg-bridge would publish them.
    let source: String
    let logger: Logger
    private let ready = Atomic(false)
    private let stopping = Atomic(false)

    init(
        pipeline: ObserverPipeline, configuration: PostgresConnection.Configuration, batchSize: Int,
        pollInterval: Duration, retention: Retention, source: String, logger: Logger
    ) {
        self.source = source
        self.retention = retention
        self.pipeline = pipeline
        self.configuration = configuration
        self.batchSize = batchSize
        self.pollInterval = pollInterval
        self.logger = logger
    }

    var readiness: ReadinessCheck {
        ReadinessCheck("postgres") { self.ready.load(ordering: .acquiring) }
    }

    func run() async throws {
        // Woken by the triggers' notifications (as pg-bridge is), so that a change is claimed at
        // once; `poll_interval` is the fallback, and the pace of retries that come due.
        let wakeup = Wakeup()
        let changes = PostgresChangeSource(configuration: configuration, transportName: source)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await changes.watchForChanges(logger: self.logger) { wakeup.signal() } }
                await self.loop(wakeup)
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .releasing)
            wakeup.signal()
        }
        await pipeline.close()
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) || Task.isCancelled }

    private func loop(_ wakeup: Wakeup) async {
        var failures = 0
        while !isStopping {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration, id: 20, logger: logger)
                defer { Task { try? await connection.close() } }
                try await ObserverWorker.ensure(
                    Self.ddl, objects: Self.objects, on: connection, logger: logger)
                ready.store(true, ordering: .releasing)
                failures = 0
                var nextPurge = ContinuousClock.now
                while !isStopping {
                    if ContinuousClock.now >= nextPurge {
                        do {
                            // A backlog (the first purge after an upgrade) goes on between claims.
                            let finished = try await purge(connection)
                            nextPurge = ContinuousClock.now + (finished ? retention.interval : .zero)
                        } catch {
                            // Events come first: a purge that cannot run (no DELETE right, a
                            // statement timeout) is reported and tried again next interval.
                            logger.warning(
                                "retention purge failed, events go on",
                                metadata: ["error": "\(String(reflecting: error))"])
                            nextPurge = ContinuousClock.now + retention.interval
                        }
                    }
                    let claimed = try await claimAndProcess(connection)
                    if claimed == 0 { await wakeup.wait(timeout: try await idleWait(connection)) }
                }
            } catch {
                ready.store(false, ordering: .releasing)
                failures += 1
                let delay = Duration.milliseconds(min(5000, 100 << min(failures, 6)))
                logger.warning(
                    "PostgreSQL transport failed, retrying",
                    metadata: ["error": "\(String(reflecting: error))", "retry.in": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// How long to wait for a notification when nothing could be claimed: until the next retry
    /// comes due, at most `poll_interval`. Retries already due are locked by the workers running
    /// them (the claim found nothing), so they do not count.
    private func idleWait(_ connection: PostgresConnection) async throws -> Duration {
        let rows = try await connection.checkedQuery(
            """
            SELECT (extract(epoch FROM min(not_before) - clock_timestamp()) * 1000)::int8
              FROM fraiseql_observer.observer_attempts WHERE not_before > clock_timestamp()
            """, logger: logger)
        var milliseconds: Int64?
        for try await value in rows.decode(Int64?.self) { milliseconds = value }
        guard let milliseconds else { return pollInterval }
        return min(pollInterval, .milliseconds(max(1, milliseconds)))
    }

    /// Deletes what `retention` no longer keeps, 1,000 rows per transaction, at most 10 transactions
    /// per call, unless another worker is at it (then it is left to that one). Returns false when
    /// there is more to delete.
    private func purge(_ connection: PostgresConnection) async throws -> Bool {
        let limit = 1000
        var budget = 10
        let steps: [(table: String, delete: (PostgresConnection) async throws -> Int)] = [
            (
                "change_log",
                { [retention, logger] connection in
                    try await ChangeLogRetention.purge(
                        connection, olderThan: retention.changeLog, limit: limit, logger: logger)
                }
            ),
            (
                "observer_done",
                { [retention, logger] connection in
                    try await connection.checkedQuery(
                        """
                        DELETE FROM fraiseql_observer.observer_done WHERE ctid IN (
                            SELECT ctid FROM fraiseql_observer.observer_done
                             WHERE done_at < now() - make_interval(secs => \(Double(retention.doneMarks.milliseconds) / 1000))
                             ORDER BY done_at LIMIT \(limit)) RETURNING 1
                        """, logger: logger
                    ).collect().count
                }
            ),
            (
                "dead_letters",
                { [retention, logger] connection in
                    try await connection.checkedQuery(
                        """
                        DELETE FROM fraiseql_observer.dead_letters WHERE id IN (
                            SELECT id FROM fraiseql_observer.dead_letters
                             ORDER BY last_failed_at DESC, id DESC OFFSET \(retention.deadLetters) LIMIT \(limit))
                        RETURNING 1
                        """, logger: logger
                    ).collect().count
                }
            ),
        ]
        for step in steps {
            var deleted = limit
            while deleted == limit, !isStopping {
                if budget == 0 { return false }
                budget -= 1
                try await connection.checkedQuery("BEGIN", logger: logger)
                do {
                    let locked = try await connection.checkedQuery(
                        "SELECT pg_try_advisory_xact_lock(hashtext(\(ChangeLogRetention.observerLock)))", logger: logger
                    )
                    var mine = false
                    for try await value in locked.decode(Bool.self) { mine = value }
                    deleted = mine ? try await step.delete(connection) : 0
                    try await connection.checkedQuery("COMMIT", logger: logger)
                    if !mine { return true }
                } catch {
                    _ = try? await connection.checkedQuery("ROLLBACK", logger: logger)
                    throw error
                }
                if deleted > 0 { purged(step.table).increment(by: deleted) }
            }
        }
        return true
    }

    private func purged(_ table: String) -> Counter {
        Counter(
            label: "fraiseql_observer_purged_total", dimensions: [("table", table)], factory: pipeline.metrics.factory)
    }

    /// One claim transaction: lock a batch, run its events, settle every row, commit.
    private func claimAndProcess(_ connection: PostgresConnection) async throws -> Int {
        try await connection.checkedQuery("BEGIN", logger: logger)
        do {
            let rows = try await connection.checkedQuery(
                """
                SELECT json_agg(json_build_array(id, event_id, entity_type, entity_id, operation, before, after,
                                                 changes, tenant_id, (extract(epoch FROM occurred_at) * 1000000)::int8,
                                                 attempts) ORDER BY id)::text
                  FROM (SELECT c.*, coalesce(a.attempts, 0) AS attempts
                          FROM fraiseql_observer.change_log_pending p
                          JOIN fraiseql_observer.change_log c ON c.id = p.id
                          LEFT JOIN fraiseql_observer.observer_attempts a ON a.change_id = p.id
                         WHERE (a.not_before IS NULL OR a.not_before <= now())
                           -- a merge join would otherwise walk every published row before the first pending one
                           AND c.id >= (SELECT min(id) FROM fraiseql_observer.change_log_pending)
                         ORDER BY p.id
                         LIMIT \(batchSize)
                         FOR UPDATE OF p SKIP LOCKED) AS batch
                """, logger: logger)
            var text: String?
            for try await value in rows.decode(String?.self) { text = value }
            guard let text, case .array(let items) = try FastJSON.parse(text) else {
                pipeline.caughtUp()
                try await connection.checkedQuery("COMMIT", logger: logger)
                return 0
            }
            var prepared: [(id: Int64, attempts: Int64, message: PreparedMessage)] = []
            for item in items {
                guard case .array(let columns) = item, columns.count == 11, case .int(let id) = columns[0],
                    case .int(let attempts) = columns[10]
                else { continue }
                let payload = Self.eventJSON(columns, source: source)
                prepared.append(
                    (
                        id, attempts,
                        pipeline.prepare(payload, origin: "postgres:change_log", deliveries: Int(attempts) + 1)
                    ))
            }
            let states = await pipeline.check(prepared.map(\.message))
            let pipeline = self.pipeline
            let settlements = await withTaskGroup(of: (Int, Settlement).self) { group in
                for (index, item) in prepared.enumerated() {
                    group.addTask {
                        let settlement = await pipeline.finish(item.message, state: states[index])
                        // Each event's marks as soon as it is done, not when the batch is: a
                        // worker that dies meanwhile would repeat its actions.
                        if let marks = settlement.marks { await pipeline.marks.mark([marks]) }
                        return (index, settlement)
                    }
                }
                var settlements = [Settlement](repeating: .nak(delay: nil), count: prepared.count)
                for await (index, settlement) in group { settlements[index] = settlement }
                return settlements
            }
            var settled: [Int64] = []
            var retries: (ids: [Int64], attempts: [Int64], delays: [Double]) = ([], [], [])
            for (index, settlement) in settlements.enumerated() {
                let (id, attempts, _) = prepared[index]
                switch settlement.outcome {
                case .ack, .term:
                    settled.append(id)
                case .nak(let delay):
                    retries.ids.append(id)
                    // A released delivery (refused by an open circuit, cut short by shutdown) is
                    // not an attempt.
                    retries.attempts.append(settlement.marks?.released == true ? attempts : attempts + 1)
                    retries.delays.append(Double(delay?.milliseconds ?? 0) / 1000)
                }
            }
            if !retries.ids.isEmpty {
                // One statement for the batch's retries. Each delay counts from now, not from the
                // claim's start (`now()` in SQL), which may be a whole action timeout earlier.
                try await connection.checkedQuery(
                    """
                    INSERT INTO fraiseql_observer.observer_attempts (change_id, attempts, not_before)
                    SELECT id, attempts, clock_timestamp() + make_interval(secs => delay)
                      FROM unnest(\(retries.ids)::int8[], \(retries.attempts)::int8[], \(retries.delays)::float8[])
                           AS retry(id, attempts, delay)
                    ON CONFLICT (change_id) DO UPDATE SET attempts = excluded.attempts, not_before = excluded.not_before
                    """, logger: logger)
            }
            if !settled.isEmpty {
                try await connection.checkedQuery(
                    "DELETE FROM fraiseql_observer.change_log_pending WHERE id = ANY(\(settled))", logger: logger)
                try await connection.checkedQuery(
                    "DELETE FROM fraiseql_observer.observer_attempts WHERE change_id = ANY(\(settled))", logger: logger)
            }
            try await connection.checkedQuery("COMMIT", logger: logger)
            return prepared.count
        } catch {
            _ = try? await connection.checkedQuery("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// The wire JSON of the event in one claimed row (the bridge would have published the same).
    static func eventJSON(_ columns: [JSONValue], source: String) -> [UInt8] {
        guard case .int(let id) = columns[0], let eventID = columns[1].stringValue.flatMap(UUID.init(text:)),
            let entityType = columns[2].stringValue, let entityID = columns[3].stringValue,
            let operation = columns[4].stringValue.flatMap(Contracts.Operation.init(rawValue:)),
            case .int(let micros) = columns[9]
        else { return Array("malformed change-log row: \(columns)".utf8) }
        let changes = columns[7].objectValue?.mapValues { value in
            FieldChange(old: value[path: "old"] ?? .null, new: value[path: "new"] ?? .null)
        }
        let event = EntityEvent(
            id: eventID, cursor: id, source: source, entityType: entityType, entityId: entityID,
            operation: operation, before: columns[5].objectValue, after: columns[6].objectValue, changes: changes,
            tenantId: columns[8].stringValue, occurredAt: Timestamp(microsecondsSinceEpoch: micros))
        return FastJSON.encode(event)
    }
}

/// Done marks and dead letters in PostgreSQL (the `postgres` transport), on a connection of their
/// own so they commit independently of the claim transaction. No dedup window is needed: a
/// settled row is never claimed again. No result cache.
actor PostgresMarkStore: MarkStore {
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private var connection: PostgresConnection?

    init(configuration: PostgresConnection.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Concurrent callers share one connection attempt (the actor suspends while connecting).
    private var opening: Task<PostgresConnection, any Error>?

    private func open() async throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        if let opening { return try await opening.value }
        let (configuration, logger) = (configuration, logger)
        let task = Task { try await PostgresConnection.connect(configuration: configuration, id: 21, logger: logger) }
        opening = task
        defer { opening = nil }
        let connection = try await task.value
        self.connection = connection
        return connection
    }

    func close() async {
        try? await connection?.close()
        connection = nil
    }

    private func failed(_ what: String, _ error: any Error) {
        logger.warning("PostgreSQL mark store: \(what) failed", metadata: ["error": "\(String(reflecting: error))"])
        Task { await self.reset() }
    }

    private func reset() async {
        try? await connection?.close()
        connection = nil
    }

    func check(_ events: [MarkCheck]) async -> [MarkState] {
        guard !events.isEmpty else { return [] }
        do {
            let connection = try await open()
            let rows = try await connection.checkedQuery(
                "SELECT event_id, action_key FROM fraiseql_observer.observer_done WHERE event_id = ANY(\(events.map(\.id)))",
                logger: logger)
            var done: [UUID: Set<String>] = [:]
            for try await (id, key) in rows.decode((UUID, String).self) { done[id, default: []].insert(key) }
            return events.map { MarkState(processed: false, done: done[$0.id] ?? []) }
        } catch {
            failed("check", error)
            return events.map { _ in MarkState() }
        }
    }

    /// Marks waiting for the write in progress, with their callers.
    private var queued: [(writes: [MarkWrite], caller: CheckedContinuation<Bool, Never>)] = []
    private var flushing = false

    /// Group commit: the marks that callers hand over while a write is in progress go together in
    /// the next one, so that a mark waits for at most one write before its own, instead of one per
    /// event ahead of it on the connection. An event's actions are repeated by a worker killed
    /// between an action and its mark being committed: the shorter that wait, the fewer.
    @discardableResult
    func mark(_ writes: [MarkWrite]) async -> Bool {
        guard writes.contains(where: { !$0.done.isEmpty }) else { return true }
        return await withCheckedContinuation { caller in
            queued.append((writes, caller))
            if !flushing {
                flushing = true
                Task { await self.flush() }
            }
        }
    }

    private func flush() async {
        while !queued.isEmpty {
            let batch = queued
            queued = []
            let written = await write(batch.flatMap(\.writes))
            for (_, caller) in batch { caller.resume(returning: written) }
        }
        flushing = false
    }

    /// One `INSERT` of the marks' done actions.
    private func write(_ writes: [MarkWrite]) async -> Bool {
        // The done actions only: an event is processed once its change-log row leaves the pending table.
        var events: [UUID] = []
        var keys: [String] = []
        for write in writes {
            for key in write.done {
                events.append(write.eventID)
                keys.append(key)
            }
        }
        guard !keys.isEmpty else { return true }
        do {
            let connection = try await open()
            try await connection.checkedQuery(
                """
                INSERT INTO fraiseql_observer.observer_done (event_id, action_key)
                SELECT * FROM unnest(\(events)::uuid[], \(keys)::text[]) ON CONFLICT DO NOTHING
                """, logger: logger)
            return true
        } catch {
            failed("mark", error)
            return false
        }
    }

    func cached(_ key: String) async -> Bool { false }
    func cache(_ key: String, ttl: Duration) async {}

    func deadLetter(_ letter: DeadLetter) async -> Bool {
        do {
            let connection = try await open()
            try await connection.checkedQuery(
                """
                INSERT INTO fraiseql_observer.dead_letters
                    (id, origin, reason, event_id, handler, attempts, last_error, payload, first_failed_at, last_failed_at)
                VALUES (\(letter.id), \(letter.origin), \(letter.reason.rawValue), \(letter.eventId), \(letter.handler),
                        \(letter.attempts), \(letter.lastError), \(letter.payload), \(letter.firstFailedAt.date),
                        \(letter.lastFailedAt.date))
                """, logger: logger)
            return true
        } catch {
            failed("dead letter", error)
            return false
        }
    }
}
