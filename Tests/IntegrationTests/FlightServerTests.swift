import BridgeEngine
import Contracts
import Foundation
import Logging
import NATS
import PostgresChangeLog
import Testing

/// flight-server as a process, read by pyarrow's Flight client (and polars, DuckDB): the answers
/// are checked against the events the test published itself.
@Suite("flight-server with pyarrow", .serialized)
struct FlightServerTests {
    static let admin = "admin-token-0123456789"
    static let ordersOnly = "orders-token-0123456789"
    static let viewsOnly = "views-token-0123456789"

    /// A running flight-server on a stream of its own, with `events` published.
    final class Server: @unchecked Sendable {
        let process: ServerProcess
        let opsPort: Int
        let port: Int
        let stream: String
        let prefix: String
        let jetStream: JetStream
        var events: [(event: EntityEvent, sequence: UInt64)] = []
        var location: String { "grpc://127.0.0.1:\(port)" }

        /// `flightKeys`: more `[flight]` keys (TLS files).
        init(flightKeys: String = "", requestsPerSecond: Int = 10_000) async throws {
            jetStream = try await connectNATS()
            (stream, prefix) = try await makeStream(jetStream)
            port = try Stack.freePort()
            let config = """
                [nats]
                url = "\(try Stack.url("NATS_URL"))"
                subject_prefix = "\(prefix)"
                [nats.stream]
                name = "\(stream)"
                [[bridge.tables]]
                table = "public.orders"
                entity = "order"
                [flight]
                listen = "127.0.0.1:\(port)"
                batch_rows = 100
                \(flightKeys)
                [flight.limits]
                requests_per_second = \(requestsPerSecond)
                concurrent_streams = 4
                [[flight.tokens]]
                name = "admin"
                token = "\(FlightServerTests.admin)"
                roles = ["admin"]
                [[flight.tokens]]
                name = "orders-only"
                token = "\(FlightServerTests.ordersOnly)"
                roles = ["events:read"]
                entities = ["order"]
                [[flight.tokens]]
                name = "views-only"
                token = "\(FlightServerTests.viewsOnly)"
                roles = ["views:read"]
                """
            let path = try ServiceProcessTests().writeConfig(config)
            (process, opsPort) = try Binaries.service("flight-server", config: path)
            try await process.start(waitForPort: opsPort)
            let ready = try await eventually(.seconds(20)) {
                await httpGet("http://127.0.0.1:\(self.opsPort)/health/ready")?.0 == 200
            }
            try #require(ready, "flight-server did not become ready")
        }

        /// Publishes `count` events (entities `order` and `user`, operations cycling).
        func publish(_ count: Int, offset: Int = 0) async throws {
            let operations: [Contracts.Operation] = [.insert, .update, .delete]
            var batch: [EntityEvent] = []
            for index in offset..<(offset + count) {
                let entity = index % 3 == 2 ? "user" : "order"
                batch.append(
                    EntityEvent(
                        id: UUID(), cursor: Int64(index + 1), source: "pg-main", entityType: entity,
                        entityId: "\(index)", operation: operations[index % 3],
                        before: index % 3 == 0 ? nil : ["total": .int(Int64(index)), "note": .string("b\(index)")],
                        after: index % 3 == 2
                            ? nil : ["total": .int(Int64(index + 1)), "note": .string("é\"\(index)")],
                        tenantId: index % 2 == 0 ? "t1" : nil,
                        occurredAt: Timestamp(microsecondsSinceEpoch: 1_765_000_000_000_000 + Int64(index))))
            }
            let results = try await jetStream.publishBatch(
                batch.map { event in
                    OutgoingMessage(
                        subject: "\(prefix).\(event.entityType).\(event.operation.rawValue)",
                        payload: FastJSON.encode(event), messageId: event.id.lowercasedString)
                })
            for (event, result) in zip(batch, results) { events.append((event, try result.get().sequence)) }
        }

        func stop() async throws {
            #expect(process.stop() == 0)
            try await jetStream.deleteStream(stream)
        }

        func metric(_ name: String) async -> Double? {
            guard let text = await httpGet("http://127.0.0.1:\(opsPort)/metrics")?.1 else { return nil }
            return text.split(separator: "\n").first { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
                .flatMap { Double($0.split(separator: " ").last ?? "") }
        }
    }

    /// Runs Tests/Peers/flight_client.py with `request` (plus the location).
    static func client(_ server: Server, _ request: [String: Any]) throws -> [String: Any] {
        var request = request
        request["location"] = request["location"] ?? server.location
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Peers/flight_client.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let json = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        process.arguments = ["python3", script.path, json]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "flight_client.py failed: \(stderr)")
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    @Test("pyarrow reads every event with the columns of an EntityEvent, values as published")
    func readAll() async throws {
        let server = try await Server()
        try await server.publish(250)
        let result = try Self.client(
            server, ["op": "read", "token": Self.admin, "ticket": ["kind": "events"]])
        #expect(result["error"] == nil, "\(result)")
        #expect(result["rows"] as? Int == 250)
        #expect(result["batches"] as? Int == 3)
        let fields = (result["fields"] as? [[String: Any]] ?? []).map { "\($0["name"]!):\($0["type"]!)" }
        #expect(
            fields == [
                "id:extension<arrow.uuid>", "stream_sequence:int64", "cursor:int64",
                "source:dictionary<values=string, indices=int32, ordered=0>",
                "entity_type:dictionary<values=string, indices=int32, ordered=0>", "entity_id:string",
                "operation:dictionary<values=string, indices=int32, ordered=0>", "before:extension<arrow.json>",
                "after:extension<arrow.json>", "changes:extension<arrow.json>", "tenant_id:string",
                "occurred_at:timestamp[us, tz=UTC]", "schema_version:int32", "trace_parent:string",
                "images_omitted:bool",
            ])
        let columns = result["columns"] as? [String: [Any]] ?? [:]
        func column(_ name: String) -> [String?] { (columns[name] ?? []).map { $0 as? String } }
        #expect(column("id") == server.events.map { $0.event.id.uuidString.lowercased() })
        #expect(column("stream_sequence") == server.events.map { "\($0.sequence)" })
        #expect(column("entity_id") == server.events.map { $0.event.entityId })
        #expect(column("entity_type") == server.events.map { $0.event.entityType })
        #expect(column("operation") == server.events.map { $0.event.operation.rawValue })
        #expect(column("tenant_id") == server.events.map { $0.event.tenantId })
        #expect(column("occurred_at") == server.events.map { "\($0.event.occurredAt.microsecondsSinceEpoch)" })
        // The JSON images parse back to what was published.
        for (text, published) in zip(column("after"), server.events.map(\.event.after)) {
            let parsed = try text.map { try FastJSON.parse($0) }
            #expect(parsed == published.map { JSONValue.object($0) })
        }
        try await server.stop()
    }

    @Test("entity, operation, start sequence and limit narrow the read")
    func filters() async throws {
        let server = try await Server()
        try await server.publish(60)
        let orders = try Self.client(
            server,
            [
                "op": "read", "token": Self.admin,
                "ticket": ["kind": "events", "entities": ["order"], "operations": ["update"]],
            ])
        let expected = server.events.filter { $0.event.entityType == "order" && $0.event.operation == .update }
        #expect((orders["columns"] as? [String: [Any]])?["entity_id"] as? [String] == expected.map(\.event.entityId))
        let start = server.events[40].sequence
        let later = try Self.client(
            server,
            [
                "op": "read", "token": Self.admin,
                "ticket": ["kind": "events", "start": ["sequence": Int(start)], "limit": 7],
            ])
        #expect(
            (later["columns"] as? [String: [Any]])?["entity_id"] as? [String]
                == server.events[40..<47].map(\.event.entityId))
        // Nothing matches: an empty answer with the schema, at once.
        let none = try Self.client(
            server, ["op": "read", "token": Self.admin, "ticket": ["kind": "events", "entities": ["invoice"]]])
        #expect(none["rows"] as? Int == 0)
        #expect((none["fields"] as? [Any])?.count == 15)
        try await server.stop()
    }

    @Test("LZ4 and Zstandard bodies read the same as uncompressed ones", arguments: ["lz4", "zstd"])
    func compressed(codec: String) async throws {
        let server = try await Server()
        try await server.publish(120)
        let result = try Self.client(
            server, ["op": "read", "token": Self.admin, "ticket": ["kind": "events", "compression": codec]])
        #expect(result["rows"] as? Int == 120)
        #expect(
            (result["columns"] as? [String: [Any]])?["entity_id"] as? [String] == server.events.map(\.event.entityId))
        try await server.stop()
    }

    @Test("polars reads the stream and DuckDB queries it")
    func polarsAndDuckDB() async throws {
        let server = try await Server()
        try await server.publish(90)
        let frame = try Self.client(server, ["op": "polars", "token": Self.admin, "ticket": ["kind": "events"]])
        #expect(frame["rows"] as? Int == 90, "\(frame)")
        let query = try Self.client(
            server,
            [
                "op": "duckdb", "token": Self.admin, "ticket": ["kind": "events"],
                "sql": "SELECT entity_type, count(*) FROM events GROUP BY entity_type ORDER BY entity_type",
            ])
        let counts = Dictionary(grouping: server.events, by: \.event.entityType).mapValues(\.count)
        #expect(
            query["rows"] as? [[String]] == counts.keys.sorted().map { [$0, "\(counts[$0]!)"] }, "\(query)")
        try await server.stop()
    }

    @Test("flights, schemas, actions and the handshake")
    func catalogue() async throws {
        let server = try await Server()
        let flights = try Self.client(server, ["op": "list", "token": Self.admin])
        let paths = (flights["flights"] as? [[String: Any]] ?? []).map { $0["path"] as? [String] ?? [] }
        #expect(paths == [["events"], ["events", "order"]])
        let narrowed = try Self.client(server, ["op": "list", "token": Self.ordersOnly])
        #expect(
            (narrowed["flights"] as? [[String: Any]] ?? []).map { $0["path"] as? [String] ?? [] } == [
                ["events", "order"]
            ])
        let info = try Self.client(server, ["op": "info", "token": Self.admin, "path": ["events", "order"]])
        #expect((info["fields"] as? [Any])?.count == 15)
        #expect(info["tickets"] as? [String] == [#"{"kind":"events","entities":["order"]}"#])
        let schema = try Self.client(
            server, ["op": "schema", "token": Self.admin, "cmd": ["kind": "events", "limit": 5]])
        #expect((schema["fields"] as? [[String: Any]])?.first?["name"] as? String == "id")
        let actions = try Self.client(server, ["op": "actions", "token": Self.admin])
        #expect(actions["actions"] as? [String] == ["health-check", "list-views"])
        let health = try Self.client(server, ["op": "action", "token": Self.admin, "type": "health-check"])
        #expect(health["results"] as? [String] == [#"{"status":"ok","nats":true}"#])
        let handshake = try Self.client(
            server, ["op": "handshake", "token": NSNull(), "username": "any", "password": Self.ordersOnly])
        #expect(handshake["header"] as? [String] == ["authorization", "Bearer \(Self.ordersOnly)"], "\(handshake)")
        try await server.stop()
    }

    @Test("wrong token, missing role, a refused entity, a malformed ticket and DoPut: each a clear gRPC error")
    func refusals() async throws {
        let server = try await Server()
        try await server.publish(5)
        func error(_ request: [String: Any]) throws -> (String, String) {
            let result = try Self.client(server, request)
            return (result["error"] as? String ?? "none", result["message"] as? String ?? "")
        }
        let wrong = try error(["op": "read", "token": "not-a-token-at-all", "ticket": ["kind": "events"]])
        #expect(wrong.0 == "FlightUnauthenticatedError", "\(wrong)")
        let missing = try error(["op": "read", "token": NSNull(), "ticket": ["kind": "events"]])
        #expect(missing.0 == "FlightUnauthenticatedError", "\(missing)")
        let role = try error(["op": "read", "token": Self.viewsOnly, "ticket": ["kind": "events"]])
        #expect(role.0 == "FlightUnauthorizedError" && role.1.contains("events:read"), "\(role)")
        let entity = try error([
            "op": "read", "token": Self.ordersOnly, "ticket": ["kind": "events", "entities": ["user"]],
        ])
        #expect(entity.0 == "FlightUnauthorizedError" && entity.1.contains("'user'"), "\(entity)")
        let malformed = try error(["op": "read", "token": Self.admin, "ticket": ["kind": "events", "limt": 5]])
        #expect(malformed.0 == "ArrowInvalid" && malformed.1.contains("limt: unknown key"), "\(malformed)")
        let badStart = try error([
            "op": "read", "token": Self.admin, "ticket": ["kind": "events", "start": ["sequence": 0]],
        ])
        #expect(badStart.0 == "ArrowInvalid" && badStart.1.contains("start: expected"), "\(badStart)")
        // A start time past 2262 (nanoseconds overflow an Int64) is refused, and the server stays up.
        let farStart = try error([
            "op": "read", "token": Self.admin, "ticket": ["kind": "events", "start": ["time": "2797-05-21T21:14:35Z"]],
        ])
        #expect(farStart.0 == "ArrowInvalid" && farStart.1.contains("1970...2262"), "\(farStart)")
        let put = try error(["op": "put", "token": Self.admin])
        #expect(put.0 == "ArrowNotImplementedError" && put.1.contains("read-only"), "\(put)")
        #expect(await server.metric("fraiseql_flight_auth_failures_total") ?? 0 >= 1)
        try await server.stop()
    }

    @Test("a token over its calls per second gets RESOURCE_EXHAUSTED")
    func rateLimit() async throws {
        let server = try await Server(requestsPerSecond: 2)
        // Ten calls in a row from one client: the bucket holds two.
        let result = try Self.client(server, ["op": "actions", "token": Self.admin, "repeat": 10])
        let errors = result["errors"] as? [String] ?? []
        #expect(errors.count >= 5, "\(result)")
        #expect(errors.contains { $0.contains("calls per second") }, "\(errors)")
        try await server.stop()
    }

    @Test("a live tail streams new events; a cancelled stream releases its consumer at once")
    func tailAndCancel() async throws {
        let server = try await Server()
        try await server.publish(10)
        let reading = Task {
            let result = try Self.client(
                server,
                [
                    "op": "read", "token": Self.admin, "max_batches": 2,
                    "ticket": ["kind": "events", "start": "new", "end": "tail"],
                ])
            return ((result["columns"] as? [String: [Any]])?["entity_id"] as? [String] ?? [], "\(result)")
        }
        // The tail starts after the first ten: only events published from now on arrive.
        // Open, and its ordered consumer exists (events published before it would not be "new").
        let open = try await eventually(.seconds(10)) {
            let streams = await server.metric("fraiseql_flight_streams_open")
            let consumers = try await server.jetStream.streamInfo(server.stream).consumerCount
            return streams == 1 && consumers == 1
        }
        #expect(open)
        try await server.publish(3, offset: 10)
        try await Task.sleep(for: .milliseconds(500))
        try await server.publish(2, offset: 13)
        let (ids, result) = try await reading.value
        #expect(ids.first == "10", "\(result)")
        #expect(Set(ids).isSubset(of: Set((10..<15).map(String.init))))
        let released = try await eventually(.seconds(10)) {
            let streams = await server.metric("fraiseql_flight_streams_open")
            let consumers = try await server.jetStream.streamInfo(server.stream).consumerCount
            return streams == 0 && consumers == 0
        }
        #expect(released, "the stream or its consumer outlived the cancelled call")
        try await server.stop()
    }

    @Test("TLS: pyarrow reads over grpc+tls with the server's CA; with mutual TLS only with a client certificate")
    func tls() async throws {
        let server = try selfSignedCertificate()
        let client = try selfSignedCertificate()
        let tlsOnly = try await Server(
            flightKeys: "tls_cert_file = \"\(server.cert)\"\ntls_key_file = \"\(server.key)\"")
        try await tlsOnly.publish(20)
        let secure = "grpc+tls://localhost:\(tlsOnly.port)"
        let read = try Self.client(
            tlsOnly,
            [
                "op": "read", "token": Self.admin, "ticket": ["kind": "events"], "location": secure,
                "tls_root": server.cert,
            ])
        #expect(read["rows"] as? Int == 20, "\(read)")
        let plain = try Self.client(tlsOnly, ["op": "read", "token": Self.admin, "ticket": ["kind": "events"]])
        #expect(plain["error"] != nil, "a plaintext client must not get through: \(plain)")
        try await tlsOnly.stop()

        let mutual = try await Server(
            flightKeys:
                "tls_cert_file = \"\(server.cert)\"\ntls_key_file = \"\(server.key)\"\ntls_client_ca_file = \"\(client.cert)\""
        )
        try await mutual.publish(5)
        let location = "grpc+tls://localhost:\(mutual.port)"
        let anonymous = try Self.client(
            mutual,
            [
                "op": "read", "token": Self.admin, "ticket": ["kind": "events"], "location": location,
                "tls_root": server.cert,
            ])
        #expect(anonymous["error"] != nil, "a client without a certificate must be refused: \(anonymous)")
        let identified = try Self.client(
            mutual,
            [
                "op": "read", "token": Self.admin, "ticket": ["kind": "events"], "location": location,
                "tls_root": server.cert, "cert": client.cert, "key": client.key,
            ])
        #expect(identified["rows"] as? Int == 5, "\(identified)")
        try await mutual.stop()
    }

    @Test("generate-views, then pyarrow reads va_ and ta_ through a read-only role, typed like the source table")
    func views() async throws {
        let database = try await TestDatabase.create()
        try await database.execute(
            """
            CREATE TABLE public.items (id bigint PRIMARY KEY, name text, price numeric(10,2), qty int, ok boolean,
              born date, seen timestamptz, local timestamp, uid uuid, tags text[], nums int[], doc jsonb, raw bytea,
              ratio double precision)
            """)
        try await ChangeLogInstaller.install(
            configuration: database.configuration,
            tables: [BridgeConfiguration.Table(table: "public.items", entity: "item")], allowSuperuser: true,
            logger: Logger(label: "tests"))
        try await database.execute(
            """
            INSERT INTO items VALUES
              (1, 'a''b', 12.34, 3, true, '2026-12-07', '2026-12-07 10:00:00.123456+00', '2026-12-07 10:00:00',
               'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{x,y}', '{1,2}', '{"k": 1}', '\\x0102', 0.5),
              (2, null, null, null, null, null, null, null, null, null, null, null, null, null),
              (3, 'c', -0.01, 0, false, '1999-01-01', '1999-01-01 00:00:00+00', '1999-01-01 00:00:00', null, '{}',
               '{}', '[1, 2]', '\\x', -1)
            """)
        try await database.execute("UPDATE items SET qty = 4, price = 99999999.99 WHERE id = 1")
        try await database.execute("DELETE FROM items WHERE id = 3")
        let config = try ServiceProcessTests().writeConfig(
            """
            [postgres]
            url = "\(database.url)"
            [[bridge.tables]]
            table = "public.items"
            entity = "item"
            """)
        let (status, output) = try await Binaries.output(
            "fraiseql-observer", ["generate-views", "--config", config, "--apply"])
        #expect(status == 0, "\(output)")
        #expect(try await database.count("SELECT ta_item_refresh()") == 5)
        #expect(try await database.count("SELECT ta_item_refresh()") == 0)
        let reader = Stack.unique("reader")
        try await database.execute("CREATE ROLE \(reader) LOGIN PASSWORD 'reader-password'")
        try await database.execute("GRANT USAGE ON SCHEMA public TO \(reader)")
        try await database.execute("GRANT SELECT ON va_item, ta_item TO \(reader)")
        var components = URLComponents(string: database.url)!
        components.user = reader
        components.password = "reader-password"
        let server = try await Server(flightKeys: "views_url = \"\(components.string!)\"")
        let result = try Self.client(
            server, ["op": "read", "token": Self.viewsOnly, "ticket": ["kind": "view", "name": "va_item"]])
        #expect(result["rows"] as? Int == 5, "\(result)")
        let fields = (result["fields"] as? [[String: Any]] ?? []).map { "\($0["name"]!):\($0["type"]!)" }
        #expect(
            fields == [
                "_change_id:int64", "_event_id:extension<arrow.uuid>", "_operation:string",
                "_occurred_at:timestamp[us, tz=UTC]", "_tenant_id:string", "_txid:int64", "id:int64", "name:string",
                "price:decimal128(10, 2)", "qty:int32", "ok:bool", "born:date32[day]", "seen:timestamp[us, tz=UTC]",
                "local:timestamp[us]", "uid:extension<arrow.uuid>", "tags:list<item: string>", "nums:list<item: int32>",
                "doc:extension<arrow.json>", "raw:binary", "ratio:double",
            ])
        let columns = result["columns"] as? [String: [Any]] ?? [:]
        func column(_ name: String) -> [String?] { (columns[name] ?? []).map { $0 as? String } }
        #expect(column("_operation") == ["insert", "insert", "insert", "update", "delete"])
        #expect(column("id") == ["1", "2", "3", "1", "3"])
        // The last change of each row against the application's table.
        #expect(column("qty")[3] == (try await database.text("SELECT qty::text FROM items WHERE id = 1")))
        #expect(column("price")[3] == (try await database.text("SELECT price::text FROM items WHERE id = 1")))
        #expect(column("uid")[3] == (try await database.text("SELECT uid::text FROM items WHERE id = 1")))
        #expect(column("name")[0] == "a'b")
        #expect(column("price")[4] == "-0.01")
        #expect(column("born")[0] == "2026-12-07")
        #expect(
            column("seen")[0]
                == (try await database.text(
                    "SELECT (extract(epoch FROM seen) * 1000000)::bigint::text FROM items WHERE id = 1")))
        #expect(column("tags")[0] == "['x', 'y']")
        #expect(column("nums")[0] == "[1, 2]")
        #expect(column("doc")[0] == #"{"k": 1}"#)
        #expect(column("raw")[0] == "0102")
        #expect(column("name")[1] == nil && column("doc")[1] == nil && column("tags")[1] == nil)
        let table = try Self.client(
            server, ["op": "read", "token": Self.viewsOnly, "ticket": ["kind": "view", "name": "ta_item"]])
        #expect(table["rows"] as? Int == 5)
        let listed = try Self.client(server, ["op": "action", "token": Self.viewsOnly, "type": "list-views"])
        let names = (listed["results"] as? [String])?.first ?? ""
        #expect(names.contains(#""name":"va_item""#) && names.contains(#""name":"ta_item""#), "\(listed)")
        let flights = try Self.client(server, ["op": "list", "token": Self.viewsOnly])
        #expect(
            (flights["flights"] as? [[String: Any]] ?? []).map { $0["path"] as? [String] ?? [] }
                == [["views", "ta_item"], ["views", "va_item"]])
        let refused = try Self.client(
            server, ["op": "read", "token": Self.viewsOnly, "ticket": ["kind": "view", "name": "items"]])
        #expect(refused["error"] as? String == "FlightUnauthorizedError", "\(refused)")
        // A client that cancels a long view read: the server's connection (and its query) goes at once.
        try await database.execute(
            "INSERT INTO items (id, name) SELECT g, 'row ' || g FROM generate_series(100, 20099) AS g")
        let partial = try Self.client(
            server,
            [
                "op": "read", "token": Self.viewsOnly, "max_batches": 1,
                "ticket": ["kind": "view", "name": "va_item", "batch_rows": 100],
            ])
        #expect(partial["rows"] as? Int == 100, "\(partial)")
        let closed = try await eventually(.seconds(10)) {
            try await database.count("SELECT count(*) FROM pg_stat_activity WHERE usename = '\(reader)'") == 0
        }
        #expect(closed, "the view's connection outlived the cancelled stream")
        // Many batches (a FETCH each), one ending exactly on a batch boundary: every row, once.
        let changes = try await database.count(
            "SELECT count(*) FROM fraiseql_observer.change_log WHERE entity_type = 'item'")
        let whole = try Self.client(
            server,
            ["op": "read", "token": Self.viewsOnly, "ticket": ["kind": "view", "name": "va_item", "batch_rows": 1000]])
        #expect(whole["rows"] as? Int == changes && changes == 20_005, "\(whole["rows"] ?? "none") of \(changes)")
        #expect(whole["batches"] as? Int == 21)
        let bounded = try Self.client(
            server,
            [
                "op": "read", "token": Self.viewsOnly,
                "ticket": ["kind": "view", "name": "va_item", "batch_rows": 500, "limit": 2_000],
            ])
        #expect(bounded["rows"] as? Int == 2_000 && bounded["batches"] as? Int == 4, "\(bounded)")
        try await server.stop()
    }

    @Test("JWTs: HS256 and ES256 tokens minted by PyJWT carry roles and entities; expired or foreign ones are refused")
    func jwt() async throws {
        let secret = "a-jwt-secret-of-at-least-32-bytes!!"
        let hs = try await Server(
            flightKeys: "[flight.jwt]\nalgorithm = \"HS256\"\nsecret = \"\(secret)\"\nissuer = \"fraiseql-tests\"")
        try await hs.publish(30)
        func mint(_ claims: [String: Any], algorithm: String = "HS256", key: String? = nil, keyFile: String? = nil)
            throws -> String
        {
            var request: [String: Any] = ["op": "mint", "claims": claims, "algorithm": algorithm]
            if let key { request["key"] = key }
            if let keyFile { request["key_file"] = keyFile }
            return try Self.client(hs, request)["token"] as? String ?? ""
        }
        let analyst = try mint(
            ["sub": "analyst", "iss": "fraiseql-tests", "roles": ["events:read"], "entities": ["order"]], key: secret)
        let orders = try Self.client(hs, ["op": "read", "token": analyst, "ticket": ["kind": "events"]])
        #expect(
            (orders["columns"] as? [String: [Any]])?["entity_type"] as? [String]
                == hs.events.filter { $0.event.entityType == "order" }.map(\.event.entityType), "\(orders)")
        let expired = try mint(
            ["sub": "analyst", "iss": "fraiseql-tests", "roles": ["events:read"], "expires_in": -60], key: secret)
        let late = try Self.client(hs, ["op": "read", "token": expired, "ticket": ["kind": "events"]])
        #expect(late["error"] as? String == "FlightUnauthenticatedError", "\(late)")
        let foreign = try mint(["sub": "x", "iss": "someone-else", "roles": ["admin"]], key: secret)
        let refused = try Self.client(hs, ["op": "read", "token": foreign, "ticket": ["kind": "events"]])
        #expect(refused["error"] as? String == "FlightUnauthenticatedError", "\(refused)")
        let forged = try mint(
            ["sub": "x", "iss": "fraiseql-tests", "roles": ["admin"]], key: "another-secret-of-at-least-32-bytes")
        #expect(
            try Self.client(hs, ["op": "read", "token": forged, "ticket": ["kind": "events"]])["error"] as? String
                == "FlightUnauthenticatedError")
        let viewer = try mint(["sub": "v", "iss": "fraiseql-tests", "roles": ["views:read"]], key: secret)
        let denied = try Self.client(hs, ["op": "read", "token": viewer, "ticket": ["kind": "events"]])
        #expect(denied["error"] as? String == "FlightUnauthorizedError", "\(denied)")
        try await hs.stop()

        let directory = try Stack.temporaryDirectory()
        let privateKey = directory.appendingPathComponent("es256.pem").path
        let publicKey = directory.appendingPathComponent("es256.pub.pem").path
        for arguments in [
            ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", privateKey],
            ["ec", "-in", privateKey, "-pubout", "-out", publicKey],
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try ServerProcess.which("openssl"))
            process.arguments = arguments
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            try #require(process.terminationStatus == 0)
        }
        let es = try await Server(
            flightKeys: "[flight.jwt]\nalgorithm = \"ES256\"\npublic_key_file = \"\(publicKey)\"")
        try await es.publish(4)
        let token = try mint(["sub": "es", "roles": ["events:read"]], algorithm: "ES256", keyFile: privateKey)
        let read = try Self.client(es, ["op": "read", "token": token, "ticket": ["kind": "events"]])
        #expect(read["rows"] as? Int == 4, "\(read)")
        try await es.stop()
    }
}
