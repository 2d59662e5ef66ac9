/// What mssql-bridge reports about the database: Change Tracking off for a table or the
/// database, or a table that does not exist.
public struct MSSQLError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public static let changeTrackingDisabled = Code(name: "change_tracking_disabled")
        public static let noTable = Code(name: "no_table")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
