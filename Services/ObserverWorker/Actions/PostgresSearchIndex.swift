import Contracts
import Delivery
import Foundation
import Logging
import PostgresChangeLog
import PostgresNIO
import Runtime

/// The PostgreSQL audit index, on the worker's pool; its table is created on first use when missing.
actor PostgresSearchIndex: SearchIndex {
    nonisolated let endpoint: String
    nonisolated let link: ServerLink?
    private let client: PostgresClient
    private let logger: Logger
    private var prepared = false

    /// - Parameters: client: the worker's pool; url: for the endpoint's name and the TLS check.
    init(client: PostgresClient, url: String, logger: Logger) throws {
        let configuration = try PostgresURL.configuration(url)
        self.client = client
        link = ServerLink.postgres(url: url)
        endpoint = Self.endpoint(configuration)
        self.logger = logger
    }

    /// The circuit breakers' name of the index: `postgres://host:port`.
    static func endpoint(_ configuration: PostgresConnection.Configuration) -> String {
        "postgres://\(configuration.host ?? "localhost"):\(configuration.port ?? 5432)"
    }

    func close() async {}

    func index(_ event: EntityEvent, json: [UInt8], index: String, timeout: Duration) async throws {
        let (logger, prepare) = (logger, !prepared)
        do {
            // The pool waits for a connection as long as PostgreSQL is unreachable: the action's
            // timeout (``SearchAction/perform(_:)``) bounds it.
            try await client.withConnection { connection in
                let store = ChangeLogStore(connection: connection, logger: logger)
                if prepare { try await store.ensure(ChangeLogSchema.auditIndex) }
                try await store.indexAudit(event, document: String(decoding: json, as: UTF8.self), index: index)
            }
            prepared = true
        } catch {
            throw DeliveryError(.retryable, "audit index (PostgreSQL): \(String(reflecting: error))")
        }
    }
}
