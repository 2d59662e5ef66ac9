import BridgeEngine
import PostgresNIO

extension PSQLError: BridgeErrorKind {
    /// `login_refused` (SQLSTATE class 28, or an authentication the server asked for and the
    /// configuration cannot give), `unreachable`, `connection_lost`, `query` (the server refused a
    /// statement), `other`.
    public var bridgeErrorKind: String {
        switch code {
        case .server:
            return serverInfo?[.sqlState]?.hasPrefix("28") == true ? "login_refused" : "query"
        case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError: return "login_refused"
        case .connectionError: return "unreachable"
        case .serverClosedConnection, .uncleanShutdown, .clientClosedConnection: return "connection_lost"
        default: return "other"
        }
    }
}
