/// An error that says what kind of failure interrupted the bridge, for the counter
/// `fraiseql_bridge_errors_total{kind}`: `unreachable`, `login_refused`, `connection_lost`,
/// `change_tracking_disabled`, `resync_required`, … (errors that do not say count as `other`).
public protocol BridgeErrorKind: Error {
    var bridgeErrorKind: String { get }
}

extension BridgeError: BridgeErrorKind {
    public var bridgeErrorKind: String { code.description }
}
