import Contracts
import Delivery
import Foundation
import Logging
import PostgresChangeLog
import PostgresNIO
import Runtime

/// Where `search` actions index events.
protocol SearchIndex: Sendable {
    var endpoint: String { get }
    /// The server behind the index, for the start-up TLS report.
    var link: ServerLink? { get }
    /// Indexes `event` under `index`; indexing the same event twice keeps one document.
    func index(_ event: EntityEvent, json: [UInt8], index: String, timeout: Duration) async throws
    /// Closes connections at shutdown.
    func close() async
}

/// `search`: index the event into the audit index. Keys: `index` (default `[search] index`),
/// `timeout` (default `5s`). Backend: PostgreSQL full-text (`fraiseql_observer.audit_index`, one
/// row per index and event, a generated `tsvector` over the document's strings and numbers) by
/// default; Elasticsearch's bulk API when `[search] elasticsearch_url` is set.
struct SearchAction: ObserverAction {
    let kind = "search"
    let key: String
    let endpoint: String
    let timeout: Duration
    let backend: any SearchIndex
    let indexName: String

    init(_ action: ObserverDefinition.Action, key: String, resources: ActionResources) throws(ConfigError) {
        let settings = try ActionSettings(action, allowed: ["index", "timeout"])
        guard let backend = resources.search else {
            throw settings.scope.error("kind", "a 'search' action needs [postgres] url or [search] elasticsearch_url")
        }
        self.key = key
        self.backend = backend
        endpoint = backend.endpoint
        indexName = try settings.scope.string("index", default: resources.searchIndexName)
        timeout = try settings.timeout(default: .seconds(5))
    }

    var link: ServerLink? { backend.link }

    func perform(_ input: ActionInput) async throws {
        let (backend, event, payload, index, timeout) = (backend, input.event, input.payload, indexName, timeout)
        do {
            try await withTimeout(timeout) {
                try await backend.index(event, json: payload, index: index, timeout: timeout)
            }
        } catch let error as TimeoutError {
            throw DeliveryError(.retryable, "audit index: \(error)")
        }
    }
}

/// The PostgreSQL audit index: one connection, opened on first use and reopened after an error.
actor PostgresSearchIndex: SearchIndex {
    nonisolated let endpoint: String
    nonisolated let link: ServerLink?
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private var connection: PostgresConnection?
    private var prepared = false

    static let ddl = [
        "CREATE SCHEMA IF NOT EXISTS fraiseql_observer",
        """
        CREATE TABLE IF NOT EXISTS fraiseql_observer.audit_index (
            index_name text NOT NULL,
            event_id uuid NOT NULL,
            entity_type text NOT NULL,
            entity_id text NOT NULL,
            operation text NOT NULL,
            tenant_id text,
            occurred_at timestamptz NOT NULL,
            document jsonb NOT NULL,
            search tsvector GENERATED ALWAYS AS (jsonb_to_tsvector('simple', document, '["string", "numeric"]')) STORED,
            PRIMARY KEY (index_name, event_id))
        """,
        "CREATE INDEX IF NOT EXISTS audit_index_search ON fraiseql_observer.audit_index USING gin (search)",
        """
        CREATE INDEX IF NOT EXISTS audit_index_entity
            ON fraiseql_observer.audit_index (index_name, entity_type, entity_id, occurred_at)
        """,
    ]

    /// What `ddl` creates (see `ObserverWorker.ensure`).
    static let objects = ["audit_index", "audit_index_search", "audit_index_entity"]

    init(url: String, logger: Logger) throws {
        configuration = try PostgresURL.configuration(url)
        link = ServerLink.postgres(url: url)
        endpoint = "postgres://\(configuration.host ?? "localhost"):\(configuration.port ?? 5432)"
        self.logger = logger
    }

    /// One connection for all concurrent calls: the actor suspends while connecting, so a second
    /// caller waits for the same attempt instead of opening (and leaking) another connection.
    private var opening: Task<PostgresConnection, any Error>?

    private func open() async throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        if let opening { return try await opening.value }
        let (configuration, logger, prepare) = (configuration, logger, !prepared)
        let task = Task { try await Self.connect(configuration, logger: logger, prepare: prepare) }
        opening = task
        defer { opening = nil }
        let connection = try await task.value
        self.connection = connection
        prepared = true
        return connection
    }

    private static func connect(_ configuration: PostgresConnection.Configuration, logger: Logger, prepare: Bool)
        async throws -> PostgresConnection
    {
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 10, logger: logger)
        guard prepare else { return connection }
        do {
            if try await ObserverWorker.missing(objects, on: connection, logger: logger) {
                try await connection.checkedQuery(
                    "SELECT pg_advisory_lock(hashtext('fraiseql_observer.audit_index'))", logger: logger)
                for statement in ddl {
                    try await connection.checkedQuery(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.checkedQuery("SELECT pg_advisory_unlock_all()", logger: logger)
            }
            return connection
        } catch {
            try? await connection.close()
            throw error
        }
    }

    func close() async {
        try? await connection?.close()
        connection = nil
    }

    func index(_ event: EntityEvent, json: [UInt8], index: String, timeout: Duration) async throws {
        do {
            let connection = try await open()
            let document = String(decoding: json, as: UTF8.self)
            try await connection.checkedQuery(
                """
                INSERT INTO fraiseql_observer.audit_index
                    (index_name, event_id, entity_type, entity_id, operation, tenant_id, occurred_at, document)
                VALUES (\(index), \(event.id), \(event.entityType), \(event.entityId), \(event.operation.rawValue),
                        \(event.tenantId), \(event.occurredAt.date), \(document)::jsonb)
                ON CONFLICT (index_name, event_id) DO NOTHING
                """, logger: logger)
        } catch {
            try? await connection?.close()
            connection = nil
            throw DeliveryError(.retryable, "audit index (PostgreSQL): \(String(reflecting: error))")
        }
    }
}

/// Elasticsearch (or OpenSearch) through the bulk API: one `index` operation per event with
/// `_id` = the event id, so a repeat overwrites the same document.
struct ElasticsearchIndex: SearchIndex {
    let url: Secret
    let http: HTTPDelivery
    var endpoint: String { WebhookAction.endpoint(url.value) }
    var link: ServerLink? { ServerLink.http("elasticsearch", url: url.value) }

    func close() async {}

    func index(_ event: EntityEvent, json: [UInt8], index: String, timeout: Duration) async throws {
        let operation = try WireFormat.encode(
            JSONValue.object([
                "index": .object(["_index": .string(index), "_id": .string(event.id.lowercasedString)])
            ]))
        // The document is the event re-encoded by the fleet's compact encoder, never the bytes as
        // received: a message with a raw line break (pretty-printed by another publisher) would
        // otherwise end the document line and inject bulk action lines of its own.
        let body = operation + [UInt8(ascii: "\n")] + FastJSON.encode(event) + [UInt8(ascii: "\n")]
        let base = url.value.hasSuffix("/") ? String(url.value.dropLast()) : url.value
        let response = try await http.send(
            HTTPDeliveryRequest(
                url: base + "/_bulk", headers: [("Content-Type", "application/x-ndjson")], body: body, timeout: timeout)
        )
        // The bulk API answers 200 and reports failures per item. Its reply opens with `took` and
        // `errors`: a reply too long to keep whole still says whether any item failed.
        guard case .object(let reply)? = try? FastJSON.parse(String(decoding: response.body, as: UTF8.self)) else {
            let head = String(decoding: response.body.prefix(256), as: UTF8.self).filter { !$0.isWhitespace }
            if response.truncated, head.contains(#""errors":false"#) { return }
            throw DeliveryError(.retryable, "Elasticsearch bulk: unreadable reply")
        }
        guard reply["errors"] == .bool(true) else { return }
        var status = 500
        var reason = "unknown"
        if case .array(let items)? = reply["items"], case .object(let item)? = items.first,
            case .object(let result)? = item["index"]
        {
            status = Int(result["status"]?.intValue ?? 500)
            if case .object(let error)? = result["error"] { reason = error["reason"]?.stringValue ?? reason }
        }
        throw DeliveryError(
            DeliveryError.classify(status: status), "Elasticsearch bulk item failed (\(status)): \(reason)",
            status: status)
    }
}
