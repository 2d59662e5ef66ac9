import Contracts

/// A WRITE/UPDATE/DELETE rows event: its table id and every row's before and after images
/// (one value per column of the table map, by index; nil for a column not in the image).
struct BinlogRows: Sendable {
    typealias Image = [JSONValue?]

    var tableID: UInt64
    var operation: Operation
    /// One entry per row: (before, after); inserts have no before, deletes no after.
    var rows: [(before: Image?, after: Image?)]

    /// The rows event's table id (to find its table map before decoding).
    static func tableID(body: [UInt8]) throws(BinlogDecodingError) -> UInt64 {
        var reader = BinlogBytes(body)
        return try reader.little(6)
    }

    /// Parses a rows event body; `version2` for the events with an extra-data block (MySQL 5.6+,
    /// types 30–32). The table map gives the columns.
    init(
        body: [UInt8], operation: Operation, version2: Bool, table: BinlogTableMap, charsets: MySQLCharsets
    ) throws(BinlogDecodingError) {
        var reader = BinlogBytes(body)
        tableID = try reader.little(6)
        self.operation = operation
        try reader.skip(2)  // flags
        if version2 {
            let extra = Int(try reader.little(2))
            try reader.skip(max(0, extra - 2))
        }
        let count = try reader.count()
        guard count == table.columns.count else {
            throw BinlogDecodingError(
                "rows of \(table.schema).\(table.table) have \(count) columns, its table map \(table.columns.count)")
        }
        let present = try reader.bitmap(count)
        let presentAfter = operation == .update ? try reader.bitmap(count) : present
        var rows: [(before: Image?, after: Image?)] = []
        while !reader.isAtEnd {
            switch operation {
            case .insert:
                rows.append((nil, try Self.image(&reader, table, present, charsets)))
            case .delete:
                rows.append((try Self.image(&reader, table, present, charsets), nil))
            case .update:
                let before = try Self.image(&reader, table, present, charsets)
                rows.append((before, try Self.image(&reader, table, presentAfter, charsets)))
            }
        }
        self.rows = rows
    }

    private static func image(
        _ reader: inout BinlogBytes, _ table: BinlogTableMap, _ present: [Bool], _ charsets: MySQLCharsets
    ) throws(BinlogDecodingError) -> Image {
        let presentCount = present.reduce(0) { $0 + ($1 ? 1 : 0) }
        let nulls = try reader.bitmap(presentCount)
        var image = Image(repeating: nil, count: table.columns.count)
        var position = 0
        for (index, column) in table.columns.enumerated() where present[index] {
            defer { position += 1 }
            image[index] = nulls[position] ? .null : try BinlogValue.decode(column, &reader, charsets: charsets)
        }
        return image
    }
}
