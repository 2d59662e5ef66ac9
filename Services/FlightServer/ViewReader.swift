import ArrowIPC
import Config
import Foundation
import GRPCCore
import Logging
import NIOCore
import PostgresChangeLog
import PostgresNIO

/// Analytic views from PostgreSQL (`flight.views_url`, a read-only role): which relations may be
/// read (`va_*` and `ta_*` in `flight.view_schema`, and `flight.allowed_relations`), their
/// columns mapped to Arrow types, and their rows streamed as record batches from a read-only
/// transaction on a connection of the stream's own, closed as soon as the stream ends or is
/// cancelled.
struct ViewReader: Sendable {
    let url: Secret?
    let schema: String
    let allowedRelations: [String]
    let metrics: FlightMetrics
    let logger: Logger

    struct View: Sendable {
        var name: String
        var qualified: String
        var columns: [ViewColumn]
        var schema: ArrowSchema {
            ArrowSchema(columns.map(\.field), metadata: [.init("fraiseql:kind", "view"), .init("fraiseql:view", name)])
        }
    }

    private func connect() async throws -> PostgresConnection {
        guard let url else {
            throw RPCError(code: .failedPrecondition, message: "no views: flight.views_url is not configured")
        }
        return try await PostgresConnection.connect(
            configuration: try PostgresURL.configuration(url.value), id: 1, logger: logger)
    }

    private func withConnection<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await connect()
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Whether `name` may be read: `va_…`/`ta_…` (in the view schema) or an allowed relation.
    func qualifiedName(_ name: String) throws(RPCError) -> (schema: String, name: String) {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1, let first = parts.first, first.hasPrefix("va_") || first.hasPrefix("ta_"),
            first.count > 3, first.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
        {
            return (schema, first)
        }
        if parts.count == 2, allowedRelations.contains(name) { return (parts[0], parts[1]) }
        throw RPCError(
            code: .permissionDenied,
            message:
                "view '\(name)' is not readable: va_* and ta_* views of \(schema), or flight.allowed_relations (\(allowedRelations.joined(separator: ", ")))"
        )
    }

    private static func quote(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private func describe(_ name: String, _ connection: PostgresConnection) async throws -> View? {
        let (schemaName, relation) = try qualifiedName(name)
        let qualified = "\(Self.quote(schemaName)).\(Self.quote(relation))"
        let rows = try await connection.query(
            """
            SELECT a.attname::text, a.atttypid::int8, a.atttypmod, t.typelem::int8
              FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
             WHERE a.attrelid = to_regclass(\(qualified)) AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum
            """, logger: logger)
        var columns: [ViewColumn] = []
        for try await (column, type, modifier, element) in rows.decode((String, Int64, Int32, Int64).self) {
            columns.append(
                ViewColumn(
                    name: column, typeOID: UInt32(truncatingIfNeeded: type), typeModifier: modifier,
                    elementOID: UInt32(truncatingIfNeeded: element)))
        }
        return columns.isEmpty ? nil : View(name: name, qualified: qualified, columns: columns)
    }

    /// The view's columns, or NOT_FOUND.
    func view(_ name: String) async throws -> View {
        _ = try qualifiedName(name)
        return try await withConnection { connection in
            guard let view = try await describe(name, connection) else {
                throw RPCError(code: .notFound, message: "view '\(name)' does not exist")
            }
            return view
        }
    }

    /// Every readable view that exists.
    func list() async throws -> [View] {
        guard url != nil else { return [] }
        return try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT c.relname::text FROM pg_catalog.pg_class c
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = \(schema) AND c.relkind IN ('v', 'r', 'm', 'p')
                   AND (c.relname LIKE 'va\\_%' OR c.relname LIKE 'ta\\_%') AND c.relname NOT LIKE '%\\_refresh\\_state'
                 ORDER BY 1
                """, logger: logger)
            var names: [String] = []
            for try await name in rows.decode(String.self) { names.append(name) }
            var views: [View] = []
            for name in names + allowedRelations {
                if let view = try await describe(name, connection) { views.append(view) }
            }
            return views
        }
    }

    /// Sends the schema, then the rows in batches of `batchRows`; returns the number of rows.
    func read(
        _ query: ViewQuery, batchRows: Int, compression: ArrowCompression?, send: (ArrowMessage) async throws -> Void
    ) async throws -> Int {
        let connection = try await connect()
        return try await withTaskCancellationHandler {
            do {
                let rows = try await read(query, connection, batchRows, compression, send)
                try? await connection.close()
                return rows
            } catch {
                try? await connection.close()
                throw error
            }
        } onCancel: {
            // Ends the query on the server at once (the stream's own connection).
            let closing: EventLoopFuture<Void> = connection.close()
            closing.whenComplete { _ in }
        }
    }

    private func read(
        _ query: ViewQuery, _ connection: PostgresConnection, _ batchRows: Int, _ compression: ArrowCompression?,
        _ send: (ArrowMessage) async throws -> Void
    ) async throws -> Int {
        guard let view = try await describe(query.name, connection) else {
            throw RPCError(code: .notFound, message: "view '\(query.name)' does not exist")
        }
        let encoder = ArrowStreamEncoder(schema: view.schema, compression: compression)
        try await send(encoder.schemaMessage())
        let select = view.columns.map { column in
            column.castToText ? "\(Self.quote(column.name))::text" : Self.quote(column.name)
        }.joined(separator: ", ")
        let limit = query.limit.map { " LIMIT \($0)" } ?? ""
        // A cursor read a batch at a time: the rows of a FETCH are gathered on the connection's
        // event loop (no task switch per row) while earlier batches are built and sent here. Two
        // FETCHes stay queued on the connection, so PostgreSQL never waits for this side between
        // them; a slow client stops the fetching, so memory holds about four batches at most.
        try await connection.query("START TRANSACTION READ ONLY", logger: logger)
        try await connection.query(
            PostgresQuery(
                unsafeSQL: "DECLARE fraiseql_view NO SCROLL CURSOR FOR SELECT \(select) FROM \(view.qualified)\(limit)"),
            logger: logger)
        let fetch = PostgresQuery(unsafeSQL: "FETCH FORWARD \(batchRows) FROM fraiseql_view")
        let logger = logger
        func fetchInto(_ rows: FetchedRows) -> EventLoopFuture<PostgresQueryMetadata> {
            connection.query(fetch, logger: logger) { row in rows.append(row) }
        }
        // Each slot's rows are touched by the event loop only while its own FETCH runs.
        let slots = [FetchedRows(capacity: min(batchRows, 4096)), FetchedRows(capacity: min(batchRows, 4096))]
        var fetching = slots.map { fetchInto($0) }
        // A plain local (no closure captures it): its appends need no dynamic exclusivity checks.
        var builders = view.columns.map { ViewColumnBuilder($0.kind) }
        var sent = 0
        var slot = 0
        while true {
            _ = try await fetching[slot].get()
            let rows = slots[slot].take()
            guard !rows.isEmpty else { break }
            let more = rows.count >= batchRows
            if more { fetching[slot] = fetchInto(slots[slot]) }
            for row in rows {
                var index = 0
                for cell in row {
                    try builders[index].append(cell.bytes)
                    index += 1
                }
            }
            let message = try encoder.recordBatch(
                length: rows.count, columns: builders.indices.map { builders[$0].finish() })
            try await send(message)
            metrics.rowsSent(rows.count)
            sent += rows.count
            if !more { break }
            slot = 1 - slot
        }
        try await connection.query("COMMIT", logger: logger)
        return sent
    }
}
