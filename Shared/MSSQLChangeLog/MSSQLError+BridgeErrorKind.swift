import BridgeEngine

extension MSSQLError: BridgeErrorKind {
    /// `change_tracking_disabled` or `no_table`.
    public var bridgeErrorKind: String { code.description }
}
