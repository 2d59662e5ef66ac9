import Contracts

/// Where an ordered consumer starts.
public enum OrderedStart: Sendable, Hashable {
    case all
    case new
    case sequence(UInt64)
    case time(nanosecondsSinceEpoch: Int64)
}
