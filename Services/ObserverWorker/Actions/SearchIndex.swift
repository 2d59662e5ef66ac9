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
