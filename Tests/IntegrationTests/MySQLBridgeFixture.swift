import Contracts
import Foundation
import MariaDB
import NATS
import Testing

/// A database on the stack's MariaDB and mysql-bridge processes capturing it in either mode,
/// each publishing into a stream of its own.
struct MySQLBridgeFixture {
    let database: MySQLTestDatabase
    let jetStream: JetStream

    /// One bridge configuration: its mode, transport, stream and subject prefix, config file.
    struct Bridge {
        let capture: String
        let transport: String
        let stream: String
        let prefix: String
        let configPath: String
    }

    static func create(_ ddl: String...) async throws -> MySQLBridgeFixture {
        let database = try await MySQLTestDatabase.create()
        for statement in ddl { try await database.execute(statement) }
        return MySQLBridgeFixture(database: database, jetStream: try await connectNATS())
    }

    /// Writes a config for `capture` mode capturing `tables` (TOML `[[bridge.tables]]` bodies)
    /// and runs `mysql-bridge install` with it.
    func bridge(capture: String, tables: [String], batchSize: Int = 200) async throws -> Bridge {
        let stream = Stack.unique("M").uppercased()
        let prefix = stream.lowercased()
        let transport = "mysql-\(capture)-\(prefix)"
        let config = """
            [log]
            level = "warning"
            [nats]
            url = "\(try Stack.url("NATS_URL"))"
            subject_prefix = "\(prefix)"
            [nats.stream]
            name = "\(stream)"
            duplicate_window = "10m"
            [mysql]
            url = "\(database.url)"
            [bridge]
            transport_name = "\(transport)"
            capture = "\(capture)"
            batch_size = \(batchSize)
            poll_interval = "100ms"
            """ + tables.map { "\n[[bridge.tables]]\n\($0)" }.joined()
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let (status, errors) = try await Binaries.run("mysql-bridge", ["install", "--config", path])
        try #require(status == 0, "mysql-bridge install (\(capture)) failed: \(errors)")
        return Bridge(capture: capture, transport: transport, stream: stream, prefix: prefix, configPath: path)
    }

    func process(_ bridge: Bridge) throws -> (ServerProcess, Int) {
        try Binaries.service("mysql-bridge", config: bridge.configPath)
    }

    /// Every event of a bridge's stream, in stream order, once `expected` have arrived.
    func events(_ bridge: Bridge, expected: Int, timeout: Duration = .seconds(120)) async throws -> [EntityEvent] {
        _ = try await waitForCount(jetStream, stream: bridge.stream, atLeast: UInt64(expected), timeout: timeout)
        return try await readStream(jetStream, subject: "\(bridge.prefix).>", expected: expected).map {
            try WireFormat.decode(EntityEvent.self, from: $0.payload)
        }
    }
}
