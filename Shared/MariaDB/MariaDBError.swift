/// An error of the MariaDB client: what failed, and the server's or connector's own words.
public struct MariaDBError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable { case configuration, connect, query, closed, truncated }
        let base: Base
        /// A URL or option that can never work (exit 2 at startup).
        public static let configuration = Code(base: .configuration)
        /// The server could not be reached or refused the login.
        public static let connect = Code(base: .connect)
        /// A statement failed (``MariaDBError/serverCode`` and ``MariaDBError/sqlState`` say why).
        public static let query = Code(base: .query)
        /// The connection was closed or lost; open a new one.
        public static let closed = Code(base: .closed)
        /// A value did not fit where it was asked for.
        public static let truncated = Code(base: .truncated)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    /// The server's or connector's error number (`ER_…`, `CR_…`), 0 when none.
    public var serverCode: UInt32
    public var sqlState: String

    public init(_ code: Code, _ message: String, serverCode: UInt32 = 0, sqlState: String = "") {
        self.code = code
        self.message = message
        self.serverCode = serverCode
        self.sqlState = sqlState
    }

    /// Whether the connection is gone (server gone away, lost, never connected): the caller
    /// opens a new connection; a statement error on a live connection is not.
    public var connectionLost: Bool {
        code == .closed || code == .connect || (2000..<3000).contains(serverCode)
    }

    public var description: String {
        var text = "MariaDB \(code): \(message)"
        if serverCode != 0 { text += " (error \(serverCode)\(sqlState.isEmpty ? "" : ", SQLSTATE \(sqlState)"))" }
        return text
    }
}
