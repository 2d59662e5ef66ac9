/// An error of the SQL Server client: what failed and db-lib's or the server's words.
public struct TDSError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// A URL that can never work (exit 2 at startup).
        public static let configuration = Code(name: "configuration")
        /// The server could not be reached, refused the login, or TLS failed.
        public static let connect = Code(name: "connect")
        /// A statement failed (the server's message number says why).
        public static let query = Code(name: "query")
        /// The connection is closed or dead; open a new one.
        public static let closed = Code(name: "closed")
        public var description: String { name }
    }

    public var code: Code
    public var message: String
    /// The server's message number (`msgno`), or db-lib's error number; 0 when none.
    public var number: Int

    public init(_ code: Code, _ message: String, number: Int = 0) {
        self.code = code
        self.message = message
        self.number = number
    }

    public var description: String {
        "SQL Server \(code): \(message)" + (number == 0 ? "" : " (\(number))")
    }
}
