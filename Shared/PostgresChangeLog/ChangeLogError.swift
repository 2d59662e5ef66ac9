/// The PostgresChangeLog module's error: what went wrong (``code``), a message for people, the
/// configuration key at fault when there is one, the change-log row when one is at fault, and the
/// underlying error (PostgresNIO's, NIOSSL's), in the manner of PostgresNIO's `PSQLError`.
public struct ChangeLogError: Error, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String

        /// `postgres.url` is not a URL the fleet can use (scheme, parameters, TLS files).
        public static let invalidURL = Code(name: "invalid_url")
        /// `install` refused or cannot apply the schema (a table, a column, a role).
        public static let install = Code(name: "install")
        /// The connection was closed by PostgreSQL (a restart) or did not answer in time.
        public static let connectionClosed = Code(name: "connection_closed")
        /// Another bridge moved the checkpoint: this one is no longer the leader.
        public static let leadershipLost = Code(name: "leadership_lost")
        /// A change-log row does not have the shape the fleet reads.
        public static let malformedRow = Code(name: "malformed_row")

        public var description: String { name }
    }

    public var code: Code
    public var message: String
    /// The configuration key at fault.
    public var key: String?
    /// The change-log id of the row at fault.
    public var changeID: Int64?
    public var underlying: (any Error)?

    public init(
        _ code: Code, _ message: String, key: String? = nil, changeID: Int64? = nil, underlying: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.key = key
        self.changeID = changeID
        self.underlying = underlying
    }

    public var description: String { message }
}
