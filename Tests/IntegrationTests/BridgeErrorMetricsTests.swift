import Foundation
import Testing

/// What an operator sees when a bridge cannot reach or log in to its database: `/health/ready`
/// names the server, and `fraiseql_bridge_errors_total{kind}` counts why (the real processes,
/// the stack's NATS and MariaDB; for SQL Server, a port nothing listens on).
@Suite("bridge errors: readiness and a metric by kind")
struct BridgeErrorMetricsTests {
    func config(_ database: String, transport: String, capture: String? = nil) throws -> String {
        let path = try Stack.temporaryDirectory().appendingPathComponent("fraiseql.toml").path
        try """
        [log]
        level = "warning"
        [nats]
        url = "\(try Stack.url("NATS_URL"))"
        subject_prefix = "\(transport)"
        [nats.stream]
        name = "\(transport.uppercased())"
        \(database)
        [bridge]
        transport_name = "\(transport)"
        poll_interval = "100ms"
        \(capture.map { "capture = \"\($0)\"" } ?? "")
        [[bridge.tables]]
        table = "orders"
        entity = "order"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs `service` until its metrics count an error of `kind` and readiness names `server` as down.
    func expectError(_ service: String, config path: String, kind: String, server: String, checkReadiness: Bool = true)
        async throws
    {
        let (process, port) = try Binaries.service(service, config: path)
        try await process.start(waitForPort: port)
        defer { process.stop() }
        #expect(
            try await eventually {
                let metrics = await httpGet("http://127.0.0.1:\(port)/metrics")?.1 ?? ""
                return metrics.split(separator: "\n").contains {
                    $0.hasPrefix("fraiseql_bridge_errors_total{") && $0.contains("kind=\"\(kind)\"")
                        && !$0.hasSuffix(" 0")
                }
            }, "\(service): fraiseql_bridge_errors_total{kind=\"\(kind)\"}")
        guard checkReadiness else { return }
        let answer = await httpGet("http://127.0.0.1:\(port)/health/ready")
        #expect(answer?.0 == 503 && answer?.1.contains("\"\(server)\":false") == true, "\(String(describing: answer))")
    }

    @Test("mysql-bridge with a login the server refuses: login_refused, not ready")
    func mysqlLoginRefused() async throws {
        let stack = try #require(URLComponents(string: try Stack.url("MYSQL_URL")))
        let url = "mysql://nobody-\(Stack.unique("u")):wrong@\(stack.host ?? "127.0.0.1"):\(stack.port ?? 3306)/mysql"
        let path = try config("[mysql]\nurl = \"\(url)\"", transport: Stack.unique("mylogin"))
        try await expectError("mysql-bridge", config: path, kind: "login_refused", server: "mysql")
    }

    @Test("mssql-bridge with nothing listening, in both modes: unreachable, not ready")
    func mssqlUnreachable() async throws {
        for capture in ["change_tracking", "trigger"] {
            let url = "mssql://sa:x@127.0.0.1:\(try Stack.freePort())/app?encrypt=off&login_timeout=2"
            let path = try config("[mssql]\nurl = \"\(url)\"", transport: Stack.unique("msdown"), capture: capture)
            try await expectError("mssql-bridge", config: path, kind: "unreachable", server: "mssql")
        }
    }

    @Test("mysql-bridge in trigger mode on a checkpoint binlog mode wrote: foreign_checkpoint, nothing published")
    func foreignCheckpoint() async throws {
        let fixture = try await MySQLBridgeFixture.create(MySQLBridgeWorkload.table)
        let bridge = try await fixture.bridge(capture: "trigger", tables: MySQLBridgeWorkload.tables)
        try await fixture.database.execute(
            "INSERT INTO fraiseql_bridge_checkpoints (transport, checkpoint) VALUES ('\(bridge.transport)', 'binlog.000001:4:')"
        )
        try await MySQLBridgeWorkload.write(fixture.database, writers: 1, rows: 3)
        try await expectError(
            "mysql-bridge", config: bridge.configPath, kind: "foreign_checkpoint", server: "bridge",
            checkReadiness: false)
        #expect(try await fixture.jetStream.streamInfo(bridge.stream).messages == 0)
    }
}
