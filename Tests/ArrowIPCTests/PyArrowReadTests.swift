import ArrowIPC
import Foundation
import Testing

/// pyarrow (an independent reader) reads what the encoder writes: every type the fleet uses,
/// nulls, several batches, dictionary deltas, and LZ4 / Zstandard bodies.
@Suite("pyarrow reads the Arrow IPC streams written here")
struct PyArrowReadTests {
    struct Row {
        var i8: Int8?
        var i16: Int16?
        var i32: Int32?
        var i64: Int64?
        var f32: Float?
        var f64: Double?
        var flag: Bool?
        var text: String?
        var large: String?
        var blob: [UInt8]?
        var amount: String?
        var day: String?
        var at: Int64?
        var local: Int64?
        var id: [UInt8]?
        var entity: String?
        var tags: [Int64]?
        var json: String?
    }

    static let schema = ArrowSchema(
        [
            ArrowField("i8", .int8), ArrowField("i16", .int16), ArrowField("i32", .int32),
            ArrowField("i64", .int64, nullable: false), ArrowField("f32", .float32), ArrowField("f64", .float64),
            ArrowField("flag", .bool), ArrowField("text", .utf8), ArrowField("large", .largeUTF8),
            ArrowField("blob", .binary), ArrowField("amount", .decimal128(precision: 10, scale: 2)),
            ArrowField("day", .date32), ArrowField("at", .timestampMicroseconds(timezone: "UTC")),
            ArrowField("local", .timestampMicroseconds(timezone: nil)),
            ArrowField("id", .fixedSizeBinary(byteWidth: 16)).extensionType("arrow.uuid"),
            ArrowField("entity", .utf8, dictionary: .init(id: 0)),
            ArrowField("tags", .list(ArrowField("item", .int64))),
            ArrowField("json", .utf8).extensionType("arrow.json"),
        ], metadata: [.init("fraiseql", "test")])

    static let batches: [[Row]] = [
        [
            Row(
                i8: -128, i16: 32767, i32: -1, i64: Int64.max, f32: 1.5, f64: -0.25, flag: true, text: "héllo",
                large: "large", blob: [0, 1, 255], amount: "12345678.90", day: "2026-12-07", at: 1_765_000_000_123_456,
                local: -1, id: Array(0..<16), entity: "order", tags: [1, 2, 3], json: #"{"a":1}"#),
            Row(i64: 0, entity: "user", tags: []),
            Row(
                i8: 7, i64: Int64.min, flag: false, text: "", amount: "-0.01", day: "1969-12-31", at: 0,
                entity: "order", json: "null"),
        ],
        [
            Row(
                i64: 42, f64: 1e300, text: "second batch", amount: "7", day: "2000-02-29", entity: "invoice", tags: [9]),
            Row(i64: 43, entity: "user"),
        ],
    ]

    /// The stream of `batches`, as `flight-server` would send it, in a file.
    static func write(compression: ArrowCompression?) throws -> URL {
        let encoder = ArrowStreamEncoder(schema: schema, compression: compression)
        var stream = encoder.schemaMessage().framed()
        var entity = DictionaryColumn()
        for rows in batches {
            var i8 = PrimitiveColumn<Int8>()
            var i16 = PrimitiveColumn<Int16>()
            var i32 = PrimitiveColumn<Int32>()
            var i64 = PrimitiveColumn<Int64>()
            var f32 = PrimitiveColumn<Float>()
            var f64 = PrimitiveColumn<Double>()
            var flag = BoolColumn()
            var text = UTF8Column()
            var large = LargeUTF8Column()
            var blob = BinaryColumn<Int32>()
            var amount = PrimitiveColumn<Int128>()
            var day = PrimitiveColumn<Int32>()
            var at = PrimitiveColumn<Int64>()
            var local = PrimitiveColumn<Int64>()
            var id = FixedSizeBinaryColumn(byteWidth: 16)
            var tags = ListColumn(elements: PrimitiveColumn<Int64>())
            var json = UTF8Column()
            for row in rows {
                i8.append(row.i8)
                i16.append(row.i16)
                i32.append(row.i32)
                i64.append(row.i64)
                f32.append(row.f32)
                f64.append(row.f64)
                flag.append(row.flag)
                text.append(row.text)
                large.append(row.large)
                if let bytes = row.blob { blob.append(bytes: bytes) } else { blob.appendNull() }
                amount.append(try row.amount.map { try ArrowValue.decimal($0, precision: 10, scale: 2) })
                day.append(row.day.flatMap(ArrowValue.days))
                at.append(row.at)
                local.append(row.local)
                id.append(row.id)
                entity.append(row.entity)
                if let values = row.tags {
                    for value in values { tags.elements.append(value) }
                    tags.closeList(elementCount: tags.elements.count)
                } else {
                    tags.appendNull()
                }
                json.append(row.json)
            }
            if let delta = entity.takeDictionaryDelta() {
                stream += try encoder.dictionaryBatch(id: 0, values: delta.values, isDelta: delta.isDelta).framed()
            }
            let columns = [
                i8.finish(), i16.finish(), i32.finish(), i64.finish(), f32.finish(), f64.finish(), flag.finish(),
                text.finish(), large.finish(), blob.finish(), amount.finish(), day.finish(), at.finish(),
                local.finish(), id.finish(), entity.finish(), tags.finish(child: tags.elements.finish()),
                json.finish(),
            ]
            stream += try encoder.recordBatch(length: rows.count, columns: columns).framed()
        }
        stream += ArrowMessage.endOfStream
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("arrow-\(UUID().uuidString).arrows")
        try Data(stream).write(to: url)
        return url
    }

    /// What pyarrow read, as `Tests/Peers/arrow_read.py` prints it.
    static func read(_ url: URL) throws -> [String: Any] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Peers/arrow_read.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, url.path]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            Issue.record("pyarrow could not read the stream: \(message)")
            return [:]
        }
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    @Test("every type, nulls, two batches and a dictionary delta", arguments: ["none", "lz4", "zstd"])
    func everyType(codec: String) throws {
        let compression: ArrowCompression? =
            switch codec {
            case "lz4": .lz4Frame
            case "zstd": .zstd(level: 1)
            default: nil
            }
        let url = try Self.write(compression: compression)
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try Self.read(url)
        let fields = result["fields"] as? [[String: Any]] ?? []
        #expect(
            fields.map { $0["type"] as? String ?? "" } == [
                "int8", "int16", "int32", "int64", "float", "double", "bool", "string", "large_string", "binary",
                "decimal128(10, 2)", "date32[day]", "timestamp[us, tz=UTC]", "timestamp[us]", "extension<arrow.uuid>",
                "dictionary<values=string, indices=int32, ordered=0>", "list<item: int64>", "extension<arrow.json>",
            ])
        #expect(fields.map { $0["nullable"] as? Bool } == Self.schema.fields.map(\.nullable))
        #expect(result["batches"] as? Int == 2)
        #expect(result["rows"] as? Int == 5)
        let columns = result["columns"] as? [String: [Any]] ?? [:]
        let rows = Self.batches.flatMap { $0 }
        func column(_ name: String) -> [String?] { (columns[name] ?? []).map { $0 as? String } }
        func expected<T>(_ values: [T?]) -> [String?] { values.map { $0.map { "\($0)" } } }
        #expect(column("i8") == expected(rows.map(\.i8)))
        #expect(column("i16") == expected(rows.map(\.i16)))
        #expect(column("i32") == expected(rows.map(\.i32)))
        #expect(column("i64") == expected(rows.map(\.i64)))
        #expect(column("f32") == expected(rows.map(\.f32)))
        #expect(column("f64") == ["-0.25", nil, nil, "1e+300", nil])
        #expect(column("flag") == expected(rows.map(\.flag)))
        #expect(column("text") == expected(rows.map(\.text)))
        #expect(column("large") == expected(rows.map(\.large)))
        #expect(column("blob") == expected(rows.map { $0.blob.map(Self.hex) }))
        #expect(column("amount") == ["12345678.90", nil, "-0.01", "7.00", nil])
        #expect(column("day") == ["2026-12-07", nil, "1969-12-31", "2000-02-29", nil])
        #expect(column("at") == expected(rows.map(\.at)))
        #expect(column("local") == expected(rows.map(\.local)))
        // pyarrow reads `arrow.uuid` as Python UUIDs: the 16 bytes big-endian.
        #expect(column("id") == ["00010203-0405-0607-0809-0a0b0c0d0e0f", nil, nil, nil, nil])
        #expect(column("entity") == expected(rows.map(\.entity)))
        #expect(
            column("tags") == expected(rows.map { $0.tags.map { "[\($0.map(String.init).joined(separator: ","))]" } }))
        #expect(column("json") == expected(rows.map(\.json)))
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
