import Logging

/// The leader's handle on the source. Invalid once leadership is lost (then every call throws).
/// The engine runs at most one `readBatch` and one `markPublished` at a time, possibly
/// concurrently with each other (a `.prefetch` read while the previous batch is marked).
public protocol ChangeSession: Sendable {
    associatedtype Position: SourcePosition

    /// Who deletes published changes.
    var retention: Retention { get }
    /// Unpublished changes, in commit order within each transaction, at most `limit` (a batch
    /// may end inside a transaction). Must include changes whose transaction committed after
    /// later-positioned ones were published (no plain `position > checkpoint` where positions
    /// are taken before commit). Throws ``BridgeError/Code/resyncRequired`` when the source no longer holds the
    /// changes after the checkpoint; never skips them silently.
    func readBatch(limit: Int, mode: ReadMode) async throws -> [ChangeRecord<Position>]
    /// Records changes that cannot be published (an event larger than the server takes, an
    /// entity name that makes no subject) with their reasons, in the source's dead-letter
    /// place, before they are marked like published ones. Must be idempotent per change.
    func setAside(_ changes: [SetAsideChange<Position>]) async throws
    /// Marks changes published or set aside (idempotent) and, when `checkpoint` is not nil,
    /// moves the checkpoint there (always the end of a transaction, never backwards).
    func markPublished(_ positions: [Position], checkpoint: Position?) async throws
    /// Deletes up to `limit` published changes captured more than `age` ago, oldest first;
    /// returns how many. Unpublished changes are never deleted. Called only with
    /// ``Retention/bridge``.
    func purgePublished(olderThan age: Duration, limit: Int) async throws -> Int
    /// Releases leadership.
    func close() async
}

extension ChangeSession {
    public var retention: Retention { .bridge }
    public func purgePublished(olderThan age: Duration, limit: Int) async throws -> Int { 0 }
}
