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

/// Done marks and dead letters in PostgreSQL (the `postgres` transport), on the pool's
/// connections, so they commit independently of the claim transaction. No dedup window is needed:
/// a settled row is never claimed again. No result cache.
actor PostgresMarkStore: MarkStore {
    private let client: PostgresClient
    private let logger: Logger

    init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// On a pooled connection, at most 10 seconds: the pool waits for a connection as long as
    /// PostgreSQL is unreachable, and a mark store that does not answer fails open (see
    /// ``MarkStore``).
    private func withStore<T: Sendable>(_ body: @escaping @Sendable (ChangeLogStore) async throws -> T)
        async throws -> T
    {
        let (client, logger) = (client, logger)
        return try await withTimeout(.seconds(10)) {
            try await client.withConnection {
                try await body(ChangeLogStore(connection: $0, logger: logger, queryTimeout: .seconds(10)))
            }
        }
    }

    private func failed(_ what: String, _ error: any Error) {
        logger.warning("PostgreSQL mark store: \(what) failed", metadata: ["error": "\(String(reflecting: error))"])
    }

    func check(_ events: [MarkCheck]) async -> [MarkState] {
        guard !events.isEmpty else { return [] }
        do {
            let done = try await withStore { try await $0.doneActions(events.map(\.id)) }
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
            try await withStore { [events, keys] in try await $0.markDone(events: events, keys: keys) }
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
            try await withStore { try await $0.insertDeadLetter(letter) }
            return true
        } catch {
            failed("dead letter", error)
            return false
        }
    }
}
