/// A column as a TABLE_MAP event describes it (with `binlog_row_metadata=FULL`: its name,
/// signedness, character set and ENUM/SET values travel with it, so rows decode as the table was
/// when they were written, across ALTER TABLE).
struct BinlogColumn: Sendable, Hashable {
    /// The binlog type code (`MYSQL_TYPE_…`); for CHAR/ENUM/SET the real type from the metadata.
    var type: UInt8
    /// The type's metadata from the TABLE_MAP (meaning depends on the type).
    var metadata: UInt16
    var name: String
    var isUnsigned = false
    /// Collation id (character columns), 0 when unknown.
    var collation: Int = 0
    var enumValues: [String] = []
    var setValues: [String] = []
    /// A JSON column (MariaDB's JSON is LONGTEXT with a `json_valid` check: known from
    /// information_schema, not from the binlog).
    var isJSON = false

    enum Code {
        static let decimal: UInt8 = 0
        static let tiny: UInt8 = 1
        static let short: UInt8 = 2
        static let long: UInt8 = 3
        static let float: UInt8 = 4
        static let double: UInt8 = 5
        static let null: UInt8 = 6
        static let timestamp: UInt8 = 7
        static let longlong: UInt8 = 8
        static let int24: UInt8 = 9
        static let date: UInt8 = 10
        static let time: UInt8 = 11
        static let datetime: UInt8 = 12
        static let year: UInt8 = 13
        static let newdate: UInt8 = 14
        static let varchar: UInt8 = 15
        static let bit: UInt8 = 16
        static let timestamp2: UInt8 = 17
        static let datetime2: UInt8 = 18
        static let time2: UInt8 = 19
        static let json: UInt8 = 245
        static let newdecimal: UInt8 = 246
        static let enumeration: UInt8 = 247
        static let set: UInt8 = 248
        static let tinyBlob: UInt8 = 249
        static let mediumBlob: UInt8 = 250
        static let longBlob: UInt8 = 251
        static let blob: UInt8 = 252
        static let varString: UInt8 = 253
        static let string: UInt8 = 254
        static let geometry: UInt8 = 255
    }

    /// Counted in the SIGNEDNESS metadata.
    static func isNumeric(_ type: UInt8) -> Bool {
        [
            Code.tiny, Code.short, Code.int24, Code.long, Code.longlong, Code.newdecimal, Code.float, Code.double,
            Code.decimal,
        ].contains(type)
    }

    /// Counted in the DEFAULT_CHARSET / COLUMN_CHARSET metadata (character and blob columns,
    /// not ENUM or SET).
    static func isCharacter(_ type: UInt8) -> Bool {
        [Code.string, Code.varString, Code.varchar, Code.blob, Code.tinyBlob, Code.mediumBlob, Code.longBlob]
            .contains(type)
    }

    /// The binary collation: bytes, not text.
    var isBinary: Bool { collation == 63 }
}
