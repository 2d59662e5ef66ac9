import BridgeEngine
import FreeTDS

extension TDSError: BridgeErrorKind {
    /// `login_refused` (the server's message 18456, "Login failed", or 18452/18486/18487/18488:
    /// untrusted domain, account locked, password expired or must change), `unreachable`,
    /// `connection_lost`, `query`.
    public var bridgeErrorKind: String {
        if [18456, 18452, 18486, 18487, 18488].contains(number) { return "login_refused" }
        switch code {
        case .connect: return "unreachable"
        case .closed: return "connection_lost"
        default: return code.description
        }
    }
}
