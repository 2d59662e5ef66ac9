import BridgeEngine
import MariaDB

extension MariaDBError: BridgeErrorKind {
    /// `login_refused` (access denied: ER_ACCESS_DENIED_ERROR 1045, ER_DBACCESS_DENIED_ERROR 1044),
    /// `unreachable`, `connection_lost`, `query`, …
    public var bridgeErrorKind: String {
        if serverCode == 1045 || serverCode == 1044 { return "login_refused" }
        switch code {
        case .connect: return "unreachable"
        case .closed: return "connection_lost"
        default: return code.description
        }
    }
}
