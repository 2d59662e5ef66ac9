/// What publishing a batch achieved, decided from each change's outcome alone (no I/O, so unit
/// tests drive it): the changes to mark and where the checkpoint may move.
///
/// Only the done prefix counts: changes, in batch order, that were acknowledged or set aside, up
/// to the first that was not. A later change acknowledged after a failed one is published again
/// with the rest (the duplicate window drops the copy), so a writer's changes stay in order. The
/// checkpoint moves to the highest position in the done prefix up to its last transaction end:
/// never into the middle of a transaction, so a resumed bridge re-reads a transaction whole.
public struct BatchProgress<Position: SourcePosition>: Sendable {
    /// What happened to one change of the batch.
    public enum Outcome: Sendable, Equatable {
        /// Acknowledged by the server (stored, or a duplicate of a stored message).
        case published
        /// Recorded in the source's dead-letter place, never published.
        case setAside
        /// Not acknowledged (or not sent).
        case failed
    }

    /// Every change was acknowledged or set aside.
    public var complete: Bool
    /// The positions of the done prefix, to mark.
    public var marked: [Position]
    /// Where the checkpoint moves (nil: it stays).
    public var checkpoint: Position?
    /// Changes acknowledged in the done prefix.
    public var published: Int
    /// Changes set aside in the done prefix.
    public var setAside: Int

    public init(records: [ChangeRecord<Position>], outcomes: [Outcome]) {
        precondition(records.count == outcomes.count, "one outcome per change")
        let done = outcomes.firstIndex(of: .failed) ?? outcomes.count
        complete = done == outcomes.count
        marked = records[..<done].map(\.position)
        published = outcomes[..<done].count { $0 == .published }
        setAside = done - published
        checkpoint = records[..<done].lastIndex(where: \.endsTransaction).flatMap { end in
            records[...end].lazy.map(\.position).max()
        }
    }
}
