import Foundation

/// Collation ids (what the binlog names) to character sets, read once from the server's
/// `information_schema.COLLATIONS`, and text decoding by character set.
struct MySQLCharsets: Sendable {
    /// Collation id → character set name (`utf8mb4`, `latin1`, `binary`, …).
    var names: [Int: String]

    /// Bytes of a column in `collation` as a Swift string (UTF-8 for utf8mb4/utf8mb3 and
    /// unknown sets; latin1 is Windows-1252 in MySQL; UCS-2/UTF-16/UTF-32 big-endian).
    func decode(_ bytes: [UInt8], collation: Int) -> String {
        let encoding: String.Encoding
        switch names[collation] ?? "utf8mb4" {
        case "latin1": encoding = .windowsCP1252
        case "ascii": encoding = .ascii
        case "cp1250": encoding = .windowsCP1250
        case "cp1251": encoding = .windowsCP1251
        case "ucs2", "utf16": encoding = .utf16BigEndian
        case "utf16le": encoding = .utf16LittleEndian
        case "utf32": encoding = .utf32BigEndian
        default: return String(decoding: bytes, as: UTF8.self)
        }
        return String(bytes: bytes, encoding: encoding) ?? String(decoding: bytes, as: UTF8.self)
    }
}
