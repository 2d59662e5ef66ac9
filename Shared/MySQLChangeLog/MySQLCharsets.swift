import Foundation

/// Collation ids (what the binlog names) to character sets, read once from the server's
/// `information_schema.COLLATIONS`, and text decoding by character set.
struct MySQLCharsets: Sendable {
    /// How a character set's bytes become text.
    enum Kind: Sendable {
        /// utf8mb4, utf8mb3, and sets not listed here (decoded as UTF-8, invalid bytes replaced).
        case utf8
        case encoding(String.Encoding)
    }

    /// Collation id → how to decode.
    private var kinds: [Int: Kind] = [:]

    /// From collation id → character set name (`utf8mb4`, `latin1`, `binary`, …).
    init(names: [Int: String]) {
        for (id, name) in names {
            switch name {
            case "latin1": kinds[id] = .encoding(.windowsCP1252)  // MySQL's latin1 is Windows-1252
            case "ascii": kinds[id] = .encoding(.ascii)
            case "cp1250": kinds[id] = .encoding(.windowsCP1250)
            case "cp1251": kinds[id] = .encoding(.windowsCP1251)
            case "ucs2", "utf16": kinds[id] = .encoding(.utf16BigEndian)
            case "utf16le": kinds[id] = .encoding(.utf16LittleEndian)
            case "utf32": kinds[id] = .encoding(.utf32BigEndian)
            default: break
            }
        }
    }

    /// Bytes of a column in `collation` as a Swift string.
    func decode(_ bytes: [UInt8], collation: Int) -> String {
        guard case .encoding(let encoding)? = kinds[collation] else { return String(decoding: bytes, as: UTF8.self) }
        // ASCII text reads the same in every single-byte set listed here: no conversion.
        if encoding != .utf16BigEndian, encoding != .utf16LittleEndian, encoding != .utf32BigEndian,
            bytes.allSatisfy({ $0 < 0x80 })
        {
            return String(decoding: bytes, as: UTF8.self)
        }
        return String(bytes: bytes, encoding: encoding) ?? String(decoding: bytes, as: UTF8.self)
    }
}
