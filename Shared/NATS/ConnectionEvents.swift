import CNATS
import Contracts
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import Synchronization

/// Receives the connection's lifecycle callbacks on libnats threads. Retained by the C library
/// for the connection's life and released by the closed callback, the last one it invokes.
final class ConnectionEvents: Sendable {
    let logger: Logger
    let name: String
    /// Set when the connection is being closed on purpose: its disconnect is not an outage.
    let closing = Atomic(false)
    /// How many times the connection was restored (server requests tied to it may be gone).
    let reconnects = Atomic(0)

    init(logger: Logger, name: String) {
        self.logger = logger
        self.name = name
    }
}
