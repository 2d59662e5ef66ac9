import BridgeEngine
import Contracts
import Foundation
import Logging
import MariaDB
import MySQLChangeLog
import NATS

/// `make bench-mysql-bridge` cases: a backlog drained by mysql-bridge's engine in one mode, on a
/// fresh database and stream.
enum MySQLBridgeBench {
    static let logger = Logger(label: "bench")

    /// A backlog of `rows` rows (inserted 1,000 per transaction after capture was installed) drained
    /// to JetStream in `capture` mode. Prints events/s, the mean payload bytes, and the binlog
    /// position capture started at (for the Python peer to read the same binlog from).
    static func drain(mysqlURL: String, natsURL: String, rows: Int, capture: String) async throws {
        var configuration = try MariaDBConfiguration(url: mysqlURL)
        let name = "bench_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try await MariaDBConnection.connect(configuration)
        try await admin.query("CREATE DATABASE \(name)")
        await admin.close()
        configuration.database = name
        let connection = try await MariaDBConnection.connect(configuration)
        try await connection.query(
            """
            CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(64), status VARCHAR(16),
                                 total DECIMAL(12,2), writer INT, seq INT)
            """)
        let tables = [BridgeConfiguration.Table(table: "orders", entity: "order")]
        let transport = "bench-\(capture)-\(name)"
        try await MySQLChangeLogInstaller.install(
            tables: tables, configuration: configuration, binlogTransport: capture == "binlog" ? transport : nil)
        let start = try await connection.query("SHOW MASTER STATUS")
        let startFile = start.string(0, 0) ?? ""
        let startPosition = start.string(0, 1) ?? "4"
        for chunk in stride(from: 0, to: rows, by: 1_000) {
            try await connection.query(
                """
                INSERT INTO orders (customer, status, total, writer, seq)
                SELECT CONCAT('customer-', seq), 'pending', seq * 1.5, 0, seq FROM seq_\(chunk + 1)_to_\(min(rows, chunk + 1_000))
                """)
        }
        await connection.close()
        let nats = try await NATSConnection.connect(NATSClientConfiguration(url: natsURL, name: "bench"))
        let jetStream = try nats.jetStream()
        let stream = name.uppercased()
        try await jetStream.ensureStream(
            StreamConfiguration(name: stream, subjects: ["\(name).>"], duplicateWindow: .seconds(120)))
        let settings = BridgeSettings(
            transportName: transport, subjectNamer: try SubjectNamer(prefix: name), batchSize: 1000,
            pollInterval: .milliseconds(200))
        let clock = ContinuousClock()
        let began = clock.now
        let task: Task<Void, any Error>
        if capture == "binlog" {
            let bridge = BridgeService(
                source: MySQLBinlogSource(configuration: configuration, transportName: transport, tables: tables),
                publisher: jetStream, configuration: settings, logger: logger)
            task = Task { try await bridge.run() }
        } else {
            let bridge = BridgeService(
                source: MySQLChangeSource(configuration: configuration, transportName: transport, tables: tables),
                publisher: jetStream, configuration: settings, logger: logger)
            task = Task { try await bridge.run() }
        }
        while try await jetStream.streamInfo(stream).messages < UInt64(rows) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let elapsed = (clock.now - began).fractionalSeconds
        task.cancel()
        let info = try await jetStream.streamInfo(stream)
        print(
            String(format: "%.0f %.0f", Double(rows) / elapsed, Double(info.bytes) / Double(info.messages)),
            name, startFile, startPosition)
        try await jetStream.deleteStream(stream)
    }
}
