import Contracts
import Foundation
import PostgresChangeLog

/// The whole fleet at one moment, as the gateway's `/api/v1/status`, its gauges, its status page
/// and `fraiseql-observer status` show it. A part that could not be read is nil (or empty) and
/// named in ``problems``; reading never throws.
public struct FleetStatus: Sendable, Codable, Hashable {
    public var generatedAt: Timestamp
    /// `nats` or `postgres` (the observer transport).
    public var transport: String
    /// The observer-worker's durable consumer (`[observer] consumer`).
    public var observerConsumer: String
    /// Whether each server could be read: `nats`, `redis`, `postgres` (those configured).
    public var parts: [String: Bool]
    public var problems: [String]
    public var stream: Stream?
    public var consumers: [Consumer]
    /// Observer dead letters: Redis stream (nats transport) or the dead_letters table (postgres).
    public var observerDeadLetters: Int64?
    public var jobQueues: [JobQueue]
    public var circuits: [Circuit]
    public var bridge: Bridge?

    public struct Stream: Sendable, Codable, Hashable {
        public var name: String
        public var messages: UInt64
        public var bytes: UInt64
        public var firstSequence: UInt64
        public var lastSequence: UInt64
        /// -1 when unlimited.
        public var maxBytes: Int64
        public var maxMessages: Int64
        /// The max_age in force: the stream's, or the configured one when shorter (the next
        /// service start applies it); 0: unlimited.
        public var maxAgeSeconds: Double

        enum CodingKeys: String, CodingKey {
            case name
            case messages
            case bytes
            case firstSequence = "first_sequence"
            case lastSequence = "last_sequence"
            case maxBytes = "max_bytes"
            case maxMessages = "max_messages"
            case maxAgeSeconds = "max_age_seconds"
        }
    }

    public struct Consumer: Sendable, Codable, Hashable {
        public var name: String
        public var pending: UInt64
        public var ackPending: Int64
        public var redelivered: Int64
        /// The stream sequence below which every message is acknowledged.
        public var ackFloor: UInt64
        /// Age of the oldest message not yet acknowledged (nil: none).
        public var oldestUnackedSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case name
            case pending
            case ackPending = "ack_pending"
            case redelivered
            case ackFloor = "ack_floor"
            case oldestUnackedSeconds = "oldest_unacked_seconds"
        }
    }

    public struct JobQueue: Sendable, Codable, Hashable {
        public var name: String
        public var queued: Int64
        public var running: Int64
        public var delayed: Int64
        public var dead: Int64

        public init(name: String, queued: Int64, running: Int64, delayed: Int64, dead: Int64) {
            self.name = name
            self.queued = queued
            self.running = running
            self.delayed = delayed
            self.dead = dead
        }
    }

    public struct Circuit: Sendable, Codable, Hashable {
        public var endpoint: String
        public var open: Bool
        /// The worker that opened it (open circuits).
        public var openedBy: String?
        public var remainingSeconds: Double?

        public init(endpoint: String, open: Bool, openedBy: String?, remainingSeconds: Double?) {
            self.endpoint = endpoint
            self.open = open
            self.openedBy = openedBy
            self.remainingSeconds = remainingSeconds
        }

        enum CodingKeys: String, CodingKey {
            case endpoint
            case open
            case openedBy = "opened_by"
            case remainingSeconds = "remaining_seconds"
        }
    }

    /// The PostgreSQL side: the change log's unpublished (or, with the postgres transport,
    /// unprocessed) rows, the bridge's checkpoint and leader, its dead letters, and whether the
    /// captured tables still match the configuration.
    public struct Bridge: Sendable, Codable, Hashable {
        public var transportName: String
        public var unpublishedRows: Int64
        public var oldestUnpublishedSeconds: Double
        public var checkpointCursor: Int64?
        public var checkpointUpdatedAt: Timestamp?
        public var leader: BridgeLeader?
        /// nil: the table is missing (install not run).
        public var deadLetters: Int64?
        public var latestDeadLetters: [BridgeLetter]
        public var capturedTables: Int
        /// What no longer matches between `[[bridge.tables]]` and the tables (empty: all match).
        public var drift: [String]
        /// The `postgres` transport: rows waiting for a retry (nil before a worker connected).
        public var retrying: Int64?

        enum CodingKeys: String, CodingKey {
            case transportName = "transport_name"
            case unpublishedRows = "unpublished_rows"
            case oldestUnpublishedSeconds = "oldest_unpublished_seconds"
            case checkpointCursor = "checkpoint_cursor"
            case checkpointUpdatedAt = "checkpoint_updated_at"
            case leader
            case deadLetters = "dead_letters"
            case latestDeadLetters = "latest_dead_letters"
            case capturedTables = "captured_tables"
            case drift
            case retrying
        }
    }

    /// A change the bridge set aside instead of publishing it.
    public struct BridgeLetter: Sendable, Codable, Hashable {
        public var transport: String
        public var changeId: Int64
        public var entityType: String
        public var eventBytes: Int
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case transport
            case changeId = "change_id"
            case entityType = "entity_type"
            case eventBytes = "event_bytes"
            case reason
        }
    }

    /// Lines for a terminal, one per fact (what `fraiseql-observer status` prints).
    public var text: String {
        var lines: [String] = []
        func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }
        if transport == "postgres", let bridge {
            lines.append(
                "change log (postgres transport): \(bridge.unpublishedRows) pending (\(bridge.retrying ?? 0) waiting "
                    + "for a retry), oldest captured " + String(format: "%.1f", bridge.oldestUnpublishedSeconds)
                    + " s ago; \(observerDeadLetters ?? 0) dead letter(s)"
                    + (bridge.retrying == nil ? "; no observer-worker has connected yet" : ""))
        }
        if let bridge {
            if transport != "postgres" {
                var line =
                    "change log (\(bridge.transportName)): \(bridge.unpublishedRows) unpublished row(s), oldest "
                    + seconds(bridge.oldestUnpublishedSeconds) + " old"
                if let cursor = bridge.checkpointCursor { line += "; checkpoint \(cursor)" }
                line +=
                    bridge.leader.map {
                        "; leader pid \($0.pid) from \($0.clientAddress)"
                            + ($0.applicationName.isEmpty ? "" : " (\($0.applicationName))")
                    }
                    ?? "; no bridge is leading"
                lines.append(line)
            }
            if let letters = bridge.deadLetters {
                lines.append("bridge dead letters: \(letters) change(s) set aside")
                for letter in bridge.latestDeadLetters {
                    lines.append(
                        "  \(letter.transport) change \(letter.changeId) (\(letter.entityType), \(letter.eventBytes) bytes): "
                            + letter.reason)
                }
            } else {
                lines.append("bridge dead letters: table missing, run install again")
            }
            if bridge.drift.isEmpty {
                lines.append("captured tables: \(bridge.capturedTables) match the configuration")
            } else {
                lines.append(
                    "captured tables: DRIFT, \(bridge.drift.count) problem(s); fix [[bridge.tables]] or the table, "
                        + "then run install")
                for problem in bridge.drift { lines.append("  \(problem)") }
            }
        }
        if let stream {
            let limits = [
                stream.maxBytes >= 0 ? "max \(stream.maxBytes) bytes" : nil,
                stream.maxMessages >= 0 ? "max \(stream.maxMessages) messages" : nil,
            ].compactMap { $0 }
            lines.append(
                "stream \(stream.name): \(stream.messages) messages, \(stream.bytes) bytes, sequences "
                    + "\(stream.firstSequence)...\(stream.lastSequence)"
                    + (limits.isEmpty ? "" : " (\(limits.joined(separator: ", ")))"))
        }
        if transport != "postgres", parts["nats"] == true, !consumers.contains(where: { $0.name == observerConsumer }) {
            lines.append("consumer \(observerConsumer): not created yet")
        }
        for consumer in consumers {
            lines.append(
                "consumer \(consumer.name): \(consumer.pending) pending, \(consumer.ackPending) awaiting ack, "
                    + "\(consumer.redelivered) redelivered")
            // JetStream deletes events at max_age, processed or not: say how close the backlog is.
            if let age = consumer.oldestUnackedSeconds, let horizon = stream?.maxAgeSeconds {
                lines.append(
                    (consumer.name == observerConsumer
                        ? "oldest unprocessed event: " : "oldest unacknowledged (\(consumer.name)): ")
                        + String(format: "%.0f", age) + " s old (max_age " + String(format: "%.0f", horizon) + " s)"
                        + (horizon > 0 && age > horizon / 2
                            ? "; WARNING: past half of max_age, older events are deleted unprocessed" : ""))
            }
        }
        if transport != "postgres", let observerDeadLetters {
            lines.append("observer dead letters: \(observerDeadLetters)")
        }
        for queue in jobQueues {
            lines.append(
                "job queue \(queue.name): \(queue.queued) queued, \(queue.running) running, \(queue.delayed) delayed, "
                    + "\(queue.dead) dead")
        }
        for circuit in circuits where circuit.open {
            lines.append(
                "circuit \(circuit.endpoint): OPEN (opened by \(circuit.openedBy ?? "?"), "
                    + "\(seconds(circuit.remainingSeconds ?? 0)) to the next trial call)")
        }
        for problem in problems { lines.append("PROBLEM: \(problem)") }
        return lines.joined(separator: "\n")
    }

    enum CodingKeys: String, CodingKey {
        case generatedAt = "generated_at"
        case transport
        case observerConsumer = "observer_consumer"
        case parts
        case problems
        case stream
        case consumers
        case observerDeadLetters = "observer_dead_letters"
        case jobQueues = "job_queues"
        case circuits
        case bridge
    }
}
