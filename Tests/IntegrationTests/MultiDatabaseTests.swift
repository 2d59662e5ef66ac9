import BridgeEngine
import Contracts
import Foundation
import Logging
import MariaDB
import NATS
import PostgresChangeLog
import Testing

@Suite("several databases into one stream", .serialized)
struct MultiDatabaseTests {
    @Test(
        "pg-bridge and mysql-bridge publish into one stream at once; observer-worker acts on both; sources and ids stay distinct"
    )
    func pgAndMySQLIntoOneStream() async throws {
        let receiver = try await Receiver()
        let postgres = try await TestDatabase.create()
        try await postgres.execute("CREATE TABLE orders (id serial PRIMARY KEY, status text)")
        try await ChangeLogInstaller.install(
            configuration: postgres.configuration,
            tables: [BridgeConfiguration.Table(table: "public.orders", entity: "order")],
            allowSuperuser: true, logger: Logger(label: "tests"))
        let mysql = try await MySQLTestDatabase.create()
        try await mysql.execute("CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, status VARCHAR(16))")
        let jetStream = try await connectNATS()
        let stream = Stack.unique("MULTI").uppercased()
        let common = """
            [log]
            level = "warning"
            [nats]
            url = "\(try Stack.url("NATS_URL"))"
            subject_prefix = "\(stream.lowercased())"
            [nats.stream]
            name = "\(stream)"
            [redis]
            url = "\(try Stack.url("REDIS_URL"))"
            key_prefix = "\(Stack.unique("multi")):"
            [postgres]
            url = "\(postgres.url)"
            [mysql]
            url = "\(mysql.url)"
            [[observers]]
            name = "new-order"
            entity = "order"
            operations = ["insert"]
            [[observers.actions]]
            kind = "webhook"
            url = "\(receiver.url)/order"
            body = '{"source": "{{source}}", "order": "{{entity_id}}"}'
            """
        let directory = try Stack.temporaryDirectory()
        let pgConfig = directory.appendingPathComponent("pg.toml").path
        try
            (common + """

                [bridge]
                transport_name = "pg-main"
                poll_interval = "100ms"
                [[bridge.tables]]
                table = "public.orders"
                entity = "order"
                """).write(toFile: pgConfig, atomically: true, encoding: .utf8)
        let mysqlConfig = directory.appendingPathComponent("mysql.toml").path
        try
            (common + """

                [bridge]
                transport_name = "mysql-main"
                poll_interval = "100ms"
                [[bridge.tables]]
                table = "orders"
                entity = "order"
                """).write(toFile: mysqlConfig, atomically: true, encoding: .utf8)
        let (installed, errors) = try await Binaries.run("mysql-bridge", ["install", "--config", mysqlConfig])
        try #require(installed == 0, "\(errors)")
        var services: [ServerProcess] = []
        for (name, config) in [("pg-bridge", pgConfig), ("mysql-bridge", mysqlConfig), ("observer-worker", pgConfig)] {
            let (process, port) = try Binaries.service(name, config: config)
            try await process.start(waitForPort: port)
            services.append(process)
        }
        let rows = 100
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await postgres.execute(
                    "INSERT INTO orders (status) SELECT 'new' FROM generate_series(1, \(rows))")
            }
            group.addTask {
                let connection = try await mysql.connect()
                for _ in 0..<rows { try await connection.query("INSERT INTO orders (status) VALUES ('new')") }
                await connection.close()
            }
            try await group.waitForAll()
        }
        #expect(try await eventually(.seconds(60)) { Set(receiver.requests.map(\.body)).count >= 2 * rows })
        let events = try await readStream(jetStream, subject: "\(stream.lowercased()).>", expected: 2 * rows).map {
            try WireFormat.decode(EntityEvent.self, from: $0.payload)
        }
        #expect(events.count == 2 * rows)
        #expect(Set(events.map(\.id)).count == 2 * rows, "event ids collide across databases")
        for source in ["pg-main", "mysql-main"] {
            let ids = events.filter { $0.source == source }.map(\.entityId)
            #expect(Set(ids) == Set((1...rows).map(String.init)), "\(source): the rows of its own database once each")
        }
        let delivered = Set(
            receiver.requests.compactMap { request -> JSONValue? in
                try? JSONDecoder().decode(JSONValue.self, from: Data(request.body))
            })
        let wanted = Set(
            ["pg-main", "mysql-main"].flatMap { source in
                (1...rows).map { JSONValue.object(["source": .string(source), "order": .string(String($0))]) }
            })
        #expect(delivered == wanted, "a webhook per row of each database")
        for process in services.reversed() { #expect(process.stop() == 0) }
        try? await jetStream.deleteStream(stream)
        await receiver.stop()
    }
}
