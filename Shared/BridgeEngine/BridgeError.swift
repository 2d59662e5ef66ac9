/// The BridgeEngine module's error: what went wrong (``code``), a message for people, and the
/// underlying error when there is one (in the manner of PostgresNIO's `PSQLError`). Adapters
/// throw it for what the engine must treat specially; their own failures (a lost connection)
/// are retried with backoff whatever their type.
public struct BridgeError: Error, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String

        /// The source no longer holds the changes after the checkpoint (its retention passed it):
        /// the bridge cannot go on without losing events. It stops publishing, reports it (the
        /// metric `fraiseql_bridge_resync_required`, `/health/ready`, an error in the log) and
        /// checks again every `resyncCheckInterval`; an operator resynchronises
        /// (docs/operations.md).
        public static let resyncRequired = Code(name: "resync_required")
        /// The checkpoint was moved by another bridge: this one is no longer the leader (the
        /// engine closes the session and stands by for leadership again).
        public static let leadershipLost = Code(name: "leadership_lost")
        /// The transport's checkpoint was written by another capture mode (a binlog position
        /// where trigger mode expects a change-log id, or the reverse): give each mode its own
        /// `bridge.transport_name`. The engine retries (and counts it) until that is fixed.
        public static let foreignCheckpoint = Code(name: "foreign_checkpoint")

        public var description: String { name }
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// ``Code/resyncRequired``, and why.
    public static func resyncRequired(_ reason: String) -> BridgeError { BridgeError(.resyncRequired, reason) }

    /// ``Code/leadershipLost``.
    public static func leadershipLost() -> BridgeError {
        BridgeError(.leadershipLost, "the checkpoint was moved by another bridge: no longer the leader")
    }

    public var description: String { "\(code): \(message)" }
}
