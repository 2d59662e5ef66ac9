import Contracts
import Delivery
import FleetCore
import Foundation
import JobQueue
import Logging
import Metrics
import NATS
import NIOPosix
import PostgresChangeLog
import PostgresNIO
import Redis
import Runtime
import ServiceLifecycle
import Synchronization

/// Stands in for the audit index while validating (nothing is indexed), under the endpoint the
/// real index would have (the circuit's name `circuits`, status and debug-event show).
struct ValidationOnlyIndex: SearchIndex {
    let endpoint: String

    init(_ configuration: FleetConfiguration) {
        if let url = configuration.search.elasticsearchURL {
            endpoint = WebhookAction.endpoint(url.value)
        } else if let url = configuration.postgres.url, let postgres = try? PostgresURL.configuration(url.value) {
            endpoint = PostgresSearchIndex.endpoint(postgres)
        } else {
            endpoint = "none"
        }
    }

    let link: ServerLink? = nil
    func index(_ event: EntityEvent, json: [UInt8], index: String, timeout: Duration) async throws {}
    func close() async {}
}
