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

/// Stands in for the audit index while validating (nothing is indexed).
struct ValidationOnlyIndex: SearchIndex {
    let endpoint = "validation"
    let link: ServerLink? = nil
    func index(_ event: EntityEvent, json: [UInt8], index: String, timeout: Duration) async throws {}
    func close() async {}
}
