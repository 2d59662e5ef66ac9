/// What ``ChangeLogSession`` needs from a database whose triggers fill a change-log table: the
/// leader's connection(s), holding the leader lock. Each trigger-mode adapter (MySQL / MariaDB,
/// SQL Server) implements it with its own SQL.
public protocol ChangeLogConnection: Sendable {
    /// Committed, unpublished rows with ids above `after`, in id order, at most `limit`; never
    /// waits for open transactions (their rows are not there yet).
    func pendingRows(after: Int64, limit: Int) async throws -> [ChangeLogRow]
    /// Unpublished ids in `(after, last]` including those open transactions wrote (a dirty
    /// read): the ids a committed read skipped because their transaction is still open.
    func pendingIDsIncludingOpen(after: Int64, through last: Int64) async throws -> [Int64]
    /// Marks `ids` published and moves the checkpoint from `current` to `target` in one
    /// transaction; false when the checkpoint was no longer `current` (another bridge moved it).
    func markPublished(ids: [Int64], current: Int64?, target: Int64?) async throws -> Bool
    /// Records a row that cannot be an event, with its reason, and marks it published.
    func recordMalformed(_ malformed: ChangeLogRow.Malformed) async throws
    /// Records events the engine set aside (dead letters), with their reasons.
    func recordDeadLetters(_ changes: [SetAsideChange<Int64>]) async throws
    /// Deletes up to `limit` published rows captured more than `age` ago; returns how many.
    func purgePublished(olderThan age: Duration, limit: Int) async throws -> Int
    func close() async
}
