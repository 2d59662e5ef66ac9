import ArgumentParser
import FleetCore
import Foundation
import Logging
import NATS
import ObserverWorker
import PostgresChangeLog
import PostgresNIO
import Runtime

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the stream and the observer consumer (postgres transport: the change log's backlog).")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try options.load()
        if configuration.observer.transport == "postgres" {
            try await PostgresDeadLetters.withConnection(configuration) { connection in
                try await Self.changeLog(connection)
                try await Self.bridge(connection, configuration)
            }
            return
        }
        if configuration.postgres.url != nil {
            try await PostgresDeadLetters.withConnection(configuration) { try await Self.bridge($0, configuration) }
        }
        let connection = try await options.connectNATS(configuration)
        defer { connection.close() }
        let jetStream = try connection.jetStream()
        let stream = try await jetStream.streamInfo(configuration.nats.stream.name)
        print(
            "stream \(stream.name): \(stream.messages) messages, \(stream.bytes) bytes, sequences \(stream.firstSequence)...\(stream.lastSequence)"
        )
        do {
            let consumer = try await jetStream.consumerInfo(
                stream: stream.name, consumer: configuration.observer.consumer)
            print(
                "consumer \(consumer.name): \(consumer.pending) pending, \(consumer.ackPending) awaiting ack, \(consumer.redelivered) redelivered"
            )
            // JetStream deletes events at max_age, processed or not: say how close the backlog is.
            if let age = try await jetStream.oldestUnacknowledgedAge(stream: stream.name, consumer: consumer.name) {
                let horizon = Double(configuration.nats.stream.maxAge.components.seconds)
                print(
                    "oldest unprocessed event: " + String(format: "%.0f", age) + " s old (max_age "
                        + String(format: "%.0f", horizon) + " s)"
                        + (age > horizon / 2
                            ? "; WARNING: past half of max_age, older events are deleted unprocessed" : ""))
            }
        } catch let error as NATSError where error.code == .notFound {
            print("consumer \(configuration.observer.consumer): not created yet")
        }
    }
}

extension Status {
    /// The bridge's side: changes set aside (its dead letters) and drift of the captured tables.
    static func bridge(_ connection: PostgresConnection, _ configuration: FleetConfiguration) async throws {
        let logger = PostgresDeadLetters.logger
        if let (count, latest) = try await ChangeLogStore(connection: connection, logger: logger)
            .bridgeDeadLetterSummary()
        {
            print("bridge dead letters: \(count) change(s) set aside")
            for letter in latest {
                print(
                    "  \(letter.transport) change \(letter.changeID) (\(letter.entityType), \(letter.eventBytes) bytes): \(letter.reason)"
                )
            }
        } else {
            print("bridge dead letters: table missing, run install again")
        }
        let problems = try await CapturedTables.check(
            configuration.bridge.tables, connection: connection, logger: logger)
        if problems.isEmpty {
            print("captured tables: \(configuration.bridge.tables.count) match the configuration")
        } else {
            print(
                "captured tables: DRIFT, \(problems.count) problem(s); fix [[bridge.tables]] or the table, then run install"
            )
            for problem in problems { print("  \(problem)") }
        }
    }

    /// The `postgres` transport's backlog: the change-log rows not settled yet, those of them
    /// waiting for a retry, the age of the oldest, and the dead letters.
    static func changeLog(_ connection: PostgresConnection) async throws {
        let logger = PostgresDeadLetters.logger
        let store = ChangeLogStore(connection: connection, logger: logger)
        let pending = try await store.backlog()
        // `fraiseql-observer install` or the first worker creates the transport's tables.
        let counts = try await store.observerCounts()
        let workersRan = counts != nil
        let (retrying, letters) = counts ?? (0, 0)
        print(
            "change log (postgres transport): \(pending.rows) pending (\(retrying) waiting for a retry), oldest captured "
                + String(format: "%.1f", pending.oldestAgeSeconds) + " s ago; \(letters) dead letter(s)"
                + (workersRan ? "" : "; no observer-worker has connected yet"))
    }
}
