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
        Prefix(source: source, position: position).derive(key: key)
    }

    /// The hash of the namespace, source and position, for the ids of many changes at one
    /// position (the rows of one binlog event): ``derive(key:)`` gives what
    /// ``StableEventID/derive(source:position:key:)`` gives, hashing only the key each time.
    public struct Prefix: Sendable {
        private let hasher: Insecure.SHA1

        public init(source: String, position: String) {
            var hasher = Insecure.SHA1()
            withUnsafeBytes(of: StableEventID.namespace.uuid) { hasher.update(bufferPointer: $0) }
            // Unit separators: no field's text can run into the next one's.
            hasher.update(data: Array("\(source)\u{1F}\(position)\u{1F}".utf8))
            self.hasher = hasher
        }

        public func derive(key: String) -> UUID {
            var hasher = hasher
            var key = key
            key.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
            let digest = hasher.finalize().withUnsafeBytes { Array($0.prefix(16)) }
            return UUID(digest: digest, version: 5)
        }
    }
}
