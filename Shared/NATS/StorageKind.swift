import Contracts

public enum StorageKind: String, Sendable, Hashable {
    case file
    case memory
}
