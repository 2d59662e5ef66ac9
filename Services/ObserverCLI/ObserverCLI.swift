/// fraiseql-observer: the operator CLI: `validate` (the configuration every service loads, exit
/// code 2 when bad), `status` (stream and consumer figures from JetStream; the change log's backlog
/// with the `postgres` transport), `install`, `events`, `jobs`, `dead-letters`, `circuits`.
import ArgumentParser
import FleetClients
import Foundation
import Logging
import NATS
import ObserverWorker
import PostgresChangeLog
import PostgresNIO
import Runtime

public struct FraiseQLObserver: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fraiseql-observer", abstract: "Operate the FraiseQL observer fleet.",
        subcommands: [
            Validate.self, Status.self, Install.self, Events.self, Jobs.self, DeadLetters.self, Circuits.self,
        ])

    public init() {}
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $FRAISEQL_CONFIG or fraiseql.toml).")
    var config: String?

    func load() throws -> FleetConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let path = config ?? environment["FRAISEQL_CONFIG"] ?? "fraiseql.toml"
        do {
            return try FleetConfiguration.load(path: path, environment: environment)
        } catch {
            throw Self.exit(error)
        }
    }

    /// Reports a configuration error on stderr; the exit code to throw (2, as the services).
    static func exit(_ error: ConfigError) -> ExitCode {
        FileHandle.standardError.write(Data("configuration error: \(error.description)\n".utf8))
        return ExitCode(ServiceMain.configurationExitCode)
    }
}

extension ConfigOption {
    /// A one-shot connection for a command: no reconnecting, closed by the caller.
    func connectNATS(_ configuration: FleetConfiguration) async throws -> NATSConnection {
        try await NATSConnection.connect(
            NATSClientConfiguration(url: configuration.nats.url, name: "fraiseql-observer", maxReconnects: 0))
    }
}

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load and validate the configuration as the services do; exit 2 when it is bad.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try options.load()
        do {
            try ObserverWorker.validate(configuration)
        } catch {
            throw ConfigOption.exit(error)
        }
        print(
            "configuration OK: \(configuration.observers.count) observer(s), \(configuration.bridge.tables.count) bridged table(s), stream \(configuration.nats.stream.name)"
        )
    }
}

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
        if let (count, latest) = try await BridgeDeadLetters.summary(connection, logger: logger) {
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
        let pending = try await ChangeLogBacklog.measure(connection, logger: logger)
        // `fraiseql-observer install` or the first worker creates these tables.
        let started = try await connection.checkedQuery(
            "SELECT to_regclass('fraiseql_observer.dead_letters') IS NOT NULL", logger: logger)
        var workersRan = false
        for try await value in started.decode(Bool.self) { workersRan = value }
        var retrying: Int64 = 0
        var letters: Int64 = 0
        if workersRan {
            let counts = try await connection.checkedQuery(
                """
                SELECT (SELECT count(*) FROM fraiseql_observer.observer_attempts WHERE not_before > now())::int8,
                       (SELECT count(*) FROM fraiseql_observer.dead_letters)::int8
                """, logger: logger)
            for try await (waiting, dead) in counts.decode((Int64, Int64).self) {
                (retrying, letters) = (waiting, dead)
            }
        }
        print(
            "change log (postgres transport): \(pending.rows) pending (\(retrying) waiting for a retry), oldest captured "
                + String(format: "%.1f", pending.oldestAgeSeconds) + " s ago; \(letters) dead letter(s)"
                + (workersRan ? "" : "; no observer-worker has connected yet"))
    }
}

struct Install: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Create the PostgreSQL change log and the triggers of [[bridge.tables]], and the observer-worker's own tables (postgres transport, search audit index)."
    )

    @OptionGroup var options: ConfigOption

    @Flag(name: .long, help: "Print the DDL instead of applying it.")
    var print = false

    @Flag(name: .long, help: "Install even when connected as a PostgreSQL superuser (refused otherwise).")
    var allowSuperuser = false

    func run() async throws {
        let configuration = try options.load()
        let code = await ChangeLogInstaller.command(
            configuration: configuration, printOnly: self.print, name: "fraiseql-observer",
            additional: ObserverWorker.postgresDDL(configuration), allowSuperuser: allowSuperuser)
        if code != 0 { throw ExitCode(code) }
    }
}

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print events from the stream (subject and JSON), oldest first, without acknowledging anything.")

    @OptionGroup var options: ConfigOption

    @Option(name: .long, help: "Stream sequence to start from (default: the last --count events).")
    var fromSequence: UInt64?

    @Option(name: .long, help: "How many events to print.")
    var count = 10

    func run() async throws {
        let configuration = try options.load()
        let connection = try await options.connectNATS(configuration)
        defer { connection.close() }
        let jetStream = try connection.jetStream()
        let info = try await jetStream.streamInfo(configuration.nats.stream.name)
        guard info.messages > 0 else { return }
        let start =
            fromSequence
            ?? max(info.firstSequence, info.lastSequence >= UInt64(count) ? info.lastSequence - UInt64(count) + 1 : 1)
        let subscription = try await jetStream.orderedSubscribe(
            subject: "\(configuration.nats.subjectPrefix).>", start: .sequence(start))
        defer { subscription.unsubscribe() }
        var printed = 0
        while printed < count, let message = try await subscription.next(timeout: .seconds(2)) {
            Swift.print(
                "\(message.metadata?.streamSequence ?? 0) \(message.subject) \(String(decoding: message.payload, as: UTF8.self))"
            )
            printed += 1
        }
    }
}
