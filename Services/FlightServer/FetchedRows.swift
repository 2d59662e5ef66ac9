import PostgresNIO

/// The rows one `FETCH` returned, gathered on the connection's event loop as they are decoded.
///
/// `@unchecked Sendable`: rows are appended on the event loop while a fetch runs; the reader
/// calls ``take()`` only after that fetch's future completed and before it starts the next one,
/// so the two never overlap (the future orders them).
final class FetchedRows: @unchecked Sendable {
    private var rows: [PostgresRow] = []

    init(capacity: Int) {
        rows.reserveCapacity(capacity)
    }

    func append(_ row: PostgresRow) { rows.append(row) }

    /// The rows gathered since the last call.
    func take() -> [PostgresRow] {
        let taken = rows
        rows = []
        rows.reserveCapacity(taken.count)
        return taken
    }
}
