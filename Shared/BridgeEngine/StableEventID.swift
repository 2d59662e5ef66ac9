import Contracts
import Crypto
import Foundation

/// An event id derived deterministically from where the change comes from, for sources that do
/// not store one (a binlog, Change Tracking): the same change read twice gets the same id.
/// A name-based UUID (RFC 9562 version 5, SHA-1) in a namespace of the fleet's own.
public enum StableEventID {
    /// The fleet's namespace for derived event ids.
    static let namespace = UUID(uuidString: "6f1c2a47-5b0e-4c8e-9a57-3f2d9c1e8b40")!

    /// The id of the change at `position` (the adapter's text for it) of `key` in `source`.
    public static func derive(source: String, position: String, key: String) -> UUID {
        var hasher = Insecure.SHA1()
        withUnsafeBytes(of: namespace.uuid) { hasher.update(bufferPointer: $0) }
        // Unit separators: no field's text can run into the next one's.
        hasher.update(data: Array("\(source)\u{1F}\(position)\u{1F}\(key)".utf8))
        return UUID(digest: hasher.finalize(), version: 5)
    }
}
