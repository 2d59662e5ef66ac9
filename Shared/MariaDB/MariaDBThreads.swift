import CMariaDB
import NIOPosix

/// The threads the connector's blocking calls run on: never Swift's cooperative pool, never an
/// event loop. Each call holds one of them for at most the connection's read or write timeout.
enum MariaDBThreads {
    static let pool: NIOThreadPool = {
        // The connector's global state, once, before any connection (not thread-safe otherwise).
        _ = mysql_server_init(0, nil, nil)
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }
}
