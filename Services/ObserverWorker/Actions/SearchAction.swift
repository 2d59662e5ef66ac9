import Config
import Contracts
import Delivery
import FleetCore
import Foundation
import Logging
import PostgresChangeLog
import PostgresNIO
import Runtime

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

    func preview(_ input: ActionInput) -> String {
        "index event \(input.event.id.lowercasedString) into '\(indexName)' at \(endpoint)"
    }

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
