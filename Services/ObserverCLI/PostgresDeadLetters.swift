import ArgumentParser
import Config
import Contracts
import FleetCore
import Foundation
import Logging
import NATS
import ObserverWorker
import PostgresChangeLog
import PostgresNIO
import Redis
import Runtime

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
        let store = ChangeLogStore(connection: connection, logger: logger)
        if summary {
            print("\(try await store.deadLetterCount()) dead letter(s) in \(ChangeLogSchema.schema).dead_letters")
            return
        }
        for (id, json) in try await store.deadLetters(count: count) { print("\(id.lowercasedString) \(json)") }
    }

    /// Replays the given letters (ids), or every letter there now (nil); false when one was not
    /// found or could not be replayed.
    static func replay(_ connection: PostgresConnection, ids: [String]?, reason only: DeadLetter.Reason?)
        async throws -> Bool
    {
        let store = ChangeLogStore(connection: connection, logger: logger)
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
            letters = try await store.deadLetterIDs()
        }
        for id in letters {
            let outcome: ReplayTally.Outcome
            do {
                outcome = try await store.transaction {
                    let outcome = try await replay(store, id, only)
                    // Only a replay commits.
                    if case .replayed = outcome { return outcome }
                    throw Undone(outcome: outcome)
                }
            } catch let undone as Undone {
                outcome = undone.outcome
            } catch {
                tally.record(id.lowercasedString, .failed("\(error)"))
                continue
            }
            tally.record(id.lowercasedString, outcome)
        }
        return tally.finish()
    }

    /// A letter left alone: its transaction rolls back.
    private struct Undone: Error {
        var outcome: ReplayTally.Outcome
    }

    /// One letter, inside the caller's transaction.
    private static func replay(_ store: ChangeLogStore, _ id: UUID, _ only: DeadLetter.Reason?)
        async throws -> ReplayTally.Outcome
    {
        guard let letter = try await store.lockDeadLetter(id) else { return .missing }
        let reason = DeadLetter.Reason(rawValue: letter.reason) ?? .undecodable
        if let why = ReplayTally.leftAlone(reason, only: only) { return .skipped(why) }
        guard let event = try? EntityEvent.decode(Array(letter.payload.utf8), rows: false) else {
            return .skipped(ReplayTally.undecodable)
        }
        switch try await store.replayDeadLetter(id, event: event, payload: letter.payload) {
        case .requeued(let detail): return .replayed(detail)
        case .alreadyPending(let why): return .failed(why)
        }
    }
}
