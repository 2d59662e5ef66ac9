import Contracts
import Foundation
import Redis

/// A job as fetched from its stream.
public struct FetchedJob: Sendable {
    public var queue: String
    /// The stream entry id (what is acknowledged).
    public var entryID: String
    /// The raw `job` field, kept for the dead-letter queue when it does not decode.
    public var raw: String
    public var job: Result<Job, JobQueueError>
}
