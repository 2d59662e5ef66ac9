import CNATS
import Contracts
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import Synchronization

/// Runs blocking C calls off the cooperative thread pool.
enum Blocking {
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }
}
