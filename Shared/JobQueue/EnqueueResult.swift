import Contracts
import Foundation
import Redis

/// What happened to an enqueue.
public enum EnqueueResult: Sendable, Hashable {
    /// Added to the ready stream (entry id) or the delayed set (`nil`).
    case enqueued(entryID: String?)
    /// A pending job already holds the uniqueness key; its id.
    case duplicate(existingJobID: String)
}
