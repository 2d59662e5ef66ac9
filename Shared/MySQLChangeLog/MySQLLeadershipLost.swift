/// The checkpoint was moved by another bridge: this one is no longer the leader (the engine
/// closes the session and stands by for leadership again).
public struct MySQLLeadershipLost: Error, CustomStringConvertible {
    public var description: String { "the checkpoint was moved by another bridge: no longer the leader" }
}
