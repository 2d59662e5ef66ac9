import Synchronization

/// What the writers know they committed, from their own statements' answers: the ids (and totals)
/// their INSERTs returned and the ids their UPDATEs marked paid. With the application's table it
/// is the end-to-end checks' truth; nothing here comes from the product.
final class WriterLedger: Sendable {
    struct Snapshot {
        /// Order id → total, as `INSERT … RETURNING id, total` answered.
        var inserted: [Int64: Int] = [:]
        /// Orders the writers' UPDATEs marked paid (answered without error).
        var paid: Set<Int64> = []
        /// Statements that failed (PostgreSQL restarting): their outcome is unknown to the writer,
        /// so the application's table decides.
        var failures = 0
    }

    private let state = Mutex(Snapshot())

    func inserted(_ rows: [(Int64, Int)]) {
        state.withLock { state in for (id, total) in rows { state.inserted[id] = total } }
    }

    func paid(_ ids: [Int64]) {
        state.withLock { $0.paid.formUnion(ids) }
    }

    func failed() {
        state.withLock { $0.failures += 1 }
    }

    var snapshot: Snapshot { state.withLock { $0 } }
}

/// The application's own table `orders`, read after the load: id → total and whether it is paid.
struct ApplicationOrders {
    var totals: [Int64: Int] = [:]
    var paid: Set<Int64> = []
}
