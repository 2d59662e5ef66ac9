/// Contracts: every type that crosses a process boundary in the fleet.
///
/// Wire types only: `Codable`, `Hashable`, `Sendable` values with no dependency beyond Foundation.
/// JSON is the wire encoding (snake_case keys, RFC 3339 timestamps with microseconds); use
/// ``WireFormat`` to encode and decode so every service writes the same bytes. Golden files in
/// `Tests/ContractsTests/Golden` pin the encoding, and `docs/contracts.md` documents it.
import Foundation

/// The one place that configures JSON encoding for the wire.
public enum WireFormat {
    /// Version of the ``EntityEvent`` schema this build writes.
    public static let entityEventSchemaVersion = 1

    /// An encoder producing the canonical wire bytes (sorted keys, compact, unescaped slashes).
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A decoder for wire bytes.
    public static func decoder() -> JSONDecoder {
        JSONDecoder()
    }

    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try encoder().encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        try decoder().decode(type, from: Data(bytes))
    }
}
