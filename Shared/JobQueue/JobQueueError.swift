import Foundation

/// An error of the job queue's own: a stream entry that is not a job. (Redis failures arrive as
/// `RedisError`.)
public struct JobQueueError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The stream entry has no `job` field.
        case missingJob
        /// The `job` field is not a job's JSON.
        case malformedJob
    }

    public var code: Code
    public var description: String
    /// The decoder's error, for a malformed job.
    public var underlying: (any Error)?

    public init(code: Code, description: String, underlying: (any Error)? = nil) {
        self.code = code
        self.description = description
        self.underlying = underlying
    }
}
