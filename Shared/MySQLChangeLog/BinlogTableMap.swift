/// A TABLE_MAP event: which table a table id stands for in the rows events that follow, and its
/// columns as they were when the rows were written.
struct BinlogTableMap: Sendable {
    var tableID: UInt64
    var schema: String
    var table: String
    var columns: [BinlogColumn]
    /// Whether the event carried the column names (`binlog_row_metadata=FULL`).
    var hasNames: Bool

    /// Parses a TABLE_MAP body (post-header and payload).
    init(body: [UInt8]) throws(BinlogDecodingError) {
        var reader = BinlogBytes(body)
        tableID = try reader.little(6)
        try reader.skip(2)  // flags
        let schemaLength = Int(try reader.byte())
        schema = String(decoding: try reader.take(schemaLength), as: UTF8.self)
        try reader.skip(1)
        let tableLength = Int(try reader.byte())
        table = String(decoding: try reader.take(tableLength), as: UTF8.self)
        try reader.skip(1)
        let count = try reader.count()
        let types = Array(try reader.take(count))
        let metadataLength = try reader.count()
        var metadata = BinlogBytes(body, from: reader.offset, to: reader.offset + metadataLength)
        try reader.skip(metadataLength)
        var columns: [BinlogColumn] = []
        columns.reserveCapacity(count)
        for (index, code) in types.enumerated() {
            var type = code
            var value: UInt16 = 0
            switch code {
            case BinlogColumn.Code.float, BinlogColumn.Code.double, BinlogColumn.Code.blob,
                BinlogColumn.Code.tinyBlob, BinlogColumn.Code.mediumBlob, BinlogColumn.Code.longBlob,
                BinlogColumn.Code.geometry, BinlogColumn.Code.json, BinlogColumn.Code.timestamp2,
                BinlogColumn.Code.datetime2, BinlogColumn.Code.time2:
                value = UInt16(try metadata.byte())
            case BinlogColumn.Code.varchar, BinlogColumn.Code.varString:
                value = UInt16(try metadata.little(2))
            case BinlogColumn.Code.string, BinlogColumn.Code.enumeration, BinlogColumn.Code.set:
                let first = try metadata.byte()
                let second = try metadata.byte()
                if first & 0x30 != 0x30 {
                    // CHAR longer than 255 bytes: the length's high bits hide in the type byte.
                    type = first | 0x30
                    value = UInt16(second) | UInt16((first & 0x30) ^ 0x30) << 4
                } else {
                    type = first
                    value = UInt16(second)
                }
            case BinlogColumn.Code.bit:
                let bits = try metadata.byte()
                let bytes = try metadata.byte()
                value = UInt16(bytes) * 8 + UInt16(bits)
            case BinlogColumn.Code.newdecimal:
                let precision = try metadata.byte()
                let scale = try metadata.byte()
                value = UInt16(precision) << 8 | UInt16(scale)
            default:
                break
            }
            columns.append(BinlogColumn(type: type, metadata: value, name: "column_\(index + 1)"))
        }
        try reader.skip((count + 7) / 8)  // nullability
        hasNames = false
        // Optional metadata: type, length, value.
        while !reader.isAtEnd {
            let field = try reader.byte()
            let length = try reader.count()
            var value = BinlogBytes(body, from: reader.offset, to: reader.offset + length)
            try reader.skip(length)
            try Self.apply(field, &value, to: &columns, hasNames: &hasNames)
        }
        self.columns = columns
    }

    private static func apply(
        _ field: UInt8, _ value: inout BinlogBytes, to columns: inout [BinlogColumn], hasNames: inout Bool
    ) throws(BinlogDecodingError) {
        let numeric = columns.indices.filter { BinlogColumn.isNumeric(columns[$0].type) }
        let character = columns.indices.filter { BinlogColumn.isCharacter(columns[$0].type) }
        let enumOrSet = columns.indices.filter {
            columns[$0].type == BinlogColumn.Code.enumeration || columns[$0].type == BinlogColumn.Code.set
        }
        switch field {
        case 1:  // SIGNEDNESS: one bit per numeric column, most significant bit first.
            let bytes = try value.take(value.remaining)
            for (position, index) in numeric.enumerated() where position / 8 < bytes.count {
                columns[index].isUnsigned = bytes[bytes.startIndex + position / 8] & (0x80 >> UInt8(position % 8)) != 0
            }
        case 2, 10:  // DEFAULT_CHARSET, ENUM_AND_SET_DEFAULT_CHARSET: a default, then exceptions.
            let targets = field == 2 ? character : enumOrSet
            let fallback = try value.count()
            for index in targets { columns[index].collation = fallback }
            while !value.isAtEnd {
                let position = try value.count()
                let collation = try value.count()
                if position < targets.count { columns[targets[position]].collation = collation }
            }
        case 3, 11:  // COLUMN_CHARSET, ENUM_AND_SET_COLUMN_CHARSET: one per column.
            for index in field == 3 ? character : enumOrSet where !value.isAtEnd {
                columns[index].collation = try value.count()
            }
        case 4:  // COLUMN_NAME
            for index in columns.indices where !value.isAtEnd {
                columns[index].name = try value.lengthEncodedString()
            }
            hasNames = true
        case 5, 6:  // SET_STR_VALUE, ENUM_STR_VALUE
            let type = field == 5 ? BinlogColumn.Code.set : BinlogColumn.Code.enumeration
            for index in columns.indices where columns[index].type == type && !value.isAtEnd {
                let count = try value.count()
                var names: [String] = []
                for _ in 0..<count { names.append(try value.lengthEncodedString()) }
                if field == 5 { columns[index].setValues = names } else { columns[index].enumValues = names }
            }
        default:
            break  // geometry types, primary keys, visibility: not needed for the images
        }
    }
}
