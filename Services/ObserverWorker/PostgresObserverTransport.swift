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
/// row never repeats a finished action. Dead letters go to the schema's `dead_letters` table.
/// Every statement is ``ChangeLogStore``'s.
final class PostgresObserverTransport: ObserverTransport {
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
        let changes = ChangeNotifications(configuration: configuration)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await changes.watch(logger: self.logger) { wakeup.signal() } }
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
                // The claim transaction's session: a connection of its own (its row locks last
                // while the batch's actions run).
                let store = try await ChangeLogStore.connect(configuration, id: 20, logger: logger)
                do {
                    try await serve(store, wakeup, failures: &failures)
                    await store.close()
                } catch {
                    await store.close()
                    throw error
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

    /// Claims and settles on `store`'s connection until stopping or an error.
    private func serve(_ store: ChangeLogStore, _ wakeup: Wakeup, failures: inout Int) async throws {
        try await store.ensure(ChangeLogSchema.observerTables)
        ready.store(true, ordering: .releasing)
        failures = 0
        var nextPurge = ContinuousClock.now
        while !isStopping {
            if ContinuousClock.now >= nextPurge {
                do {
                    // A backlog (the first purge after an upgrade) goes on between claims.
                    let finished = try await purge(store)
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
            let claimed = try await claimAndProcess(store)
            if claimed == 0 {
                // Until the next retry comes due, at most `poll_interval`.
                let due = try await store.nextRetryDue()
                await wakeup.wait(timeout: min(pollInterval, due ?? pollInterval))
            }
        }
    }

    /// Deletes what `retention` no longer keeps, 1,000 rows per transaction, at most 10 transactions
    /// per call, unless another worker is at it (then it is left to that one). Returns false when
    /// there is more to delete.
    private func purge(_ store: ChangeLogStore) async throws -> Bool {
        let limit = 1000
        var budget = 10
        let retention = self.retention
        let steps: [(table: String, delete: @Sendable (ChangeLogStore) async throws -> Int)] = [
            ("change_log", { try await $0.purgeChangeLog(olderThan: retention.changeLog, limit: limit) }),
            ("observer_done", { try await $0.purgeDoneMarks(olderThan: retention.doneMarks, limit: limit) }),
            ("dead_letters", { try await $0.purgeDeadLetters(keeping: retention.deadLetters, limit: limit) }),
        ]
        for step in steps {
            var deleted = limit
            while deleted == limit, !isStopping {
                if budget == 0 { return false }
                budget -= 1
                let mine = try await store.transaction {
                    guard try await store.tryObserverRetentionLock() else { return false }
                    deleted = try await step.delete(store)
                    return true
                }
                if !mine { return true }
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
    private func claimAndProcess(_ store: ChangeLogStore) async throws -> Int {
        try await store.transaction {
            let (rows, malformed) = try await store.claim(limit: batchSize, source: source)
            var prepared: [(id: Int64, attempts: Int64, message: PreparedMessage)] = []
            for row in rows {
                prepared.append(
                    (
                        row.id, row.attempts,
                        pipeline.prepare(row.payload, origin: "postgres:change_log", deliveries: Int(row.attempts) + 1)
                    ))
            }
            for (error, attempts) in malformed {
                // Dead-lettered as undecodable, with the row's text; a row without a readable
                // id cannot be settled and stays pending (the log says which).
                guard let id = error.changeID else {
                    logger.error("change-log row without a readable id", metadata: ["error": "\(error)"])
                    continue
                }
                prepared.append(
                    (
                        id, attempts,
                        pipeline.prepare(
                            Array(error.description.utf8), origin: "postgres:change_log", deliveries: Int(attempts) + 1)
                    ))
            }
            guard !prepared.isEmpty else {
                pipeline.caughtUp()
                return 0
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
            var done: [Int64] = []
            var retries: [ChangeLogStore.Retry] = []
            for (index, settlement) in settlements.enumerated() {
                let (id, attempts, _) = prepared[index]
                switch settlement.outcome {
                case .ack, .term:
                    done.append(id)
                case .nak(let delay):
                    // A released delivery (refused by an open circuit, cut short by shutdown) is
                    // not an attempt.
                    retries.append(
                        ChangeLogStore.Retry(
                            id: id, attempts: settlement.marks?.released == true ? attempts : attempts + 1,
                            delay: delay ?? .zero))
                }
            }
            try await store.settle(done: done, retries: retries)
            return prepared.count
        }
    }
}
