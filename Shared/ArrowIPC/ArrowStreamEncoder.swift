/// Encodes the messages of an Arrow IPC stream for one schema: the schema, dictionary batches
/// and record batches, with the metadata (`Schema.fbs`, `Message.fbs`, metadata version 5)
/// written by ``FlatBufferBuilder`` and bodies laid out with every buffer 64-byte aligned,
/// optionally compressed.
public struct ArrowStreamEncoder: Sendable {
    public let schema: ArrowSchema
    public let compression: ArrowCompression?

    /// Body buffers start at multiples of this and are padded to it.
    public static let bodyAlignment = 64

    public init(schema: ArrowSchema, compression: ArrowCompression? = nil) {
        self.schema = schema
        self.compression = compression
    }

    // Message.fbs: MessageHeader, MetadataVersion.
    private enum Header: UInt8 {
        case schema = 1
        case dictionaryBatch = 2
        case recordBatch = 3
    }
    private static let metadataVersion5: Int16 = 4

    public func schemaMessage() -> ArrowMessage {
        var builder = FlatBufferBuilder()
        let header = Self.schemaTable(schema, &builder)
        return ArrowMessage(metadata: Self.message(.schema, header, bodyLength: 0, &builder), body: [])
    }

    /// A record batch of `length` rows: one array per field of the schema, in order.
    public func recordBatch(length: Int, columns: [ArrowArray]) throws(ArrowIPCError) -> ArrowMessage {
        precondition(columns.count == schema.fields.count, "one array per field")
        var builder = FlatBufferBuilder()
        let (batch, body) = try recordBatchTable(length: length, columns: columns, &builder)
        return ArrowMessage(
            metadata: Self.message(.recordBatch, batch, bodyLength: body.count, &builder), body: body)
    }

    /// The values of dictionary `id` (all of them, or those added since the last batch of this
    /// id when `isDelta`).
    public func dictionaryBatch(id: Int64, values: ArrowArray, isDelta: Bool) throws(ArrowIPCError) -> ArrowMessage {
        var builder = FlatBufferBuilder()
        let (batch, body) = try recordBatchTable(length: values.length, columns: [values], &builder)
        builder.startTable(slots: 3)
        builder.add(0, id)
        builder.add(1, batch)
        builder.add(2, isDelta)
        let dictionary = builder.endTable()
        return ArrowMessage(
            metadata: Self.message(.dictionaryBatch, dictionary, bodyLength: body.count, &builder), body: body)
    }

    // MARK: Metadata

    private static func message(
        _ header: Header, _ table: FlatBufferBuilder.Offset, bodyLength: Int, _ builder: inout FlatBufferBuilder
    ) -> [UInt8] {
        builder.startTable(slots: 5)
        builder.add(0, metadataVersion5, default: nil)
        builder.add(1, header.rawValue, default: nil)
        builder.add(2, table)
        builder.add(3, Int64(bodyLength))
        let message = builder.endTable()
        return builder.finish(root: message)
    }

    private static func keyValues(_ pairs: [ArrowField.KeyValue], _ builder: inout FlatBufferBuilder)
        -> FlatBufferBuilder.Offset?
    {
        guard !pairs.isEmpty else { return nil }
        var tables: [FlatBufferBuilder.Offset] = []
        for pair in pairs {
            let key = builder.string(pair.key)
            let value = builder.string(pair.value)
            builder.startTable(slots: 2)
            builder.add(0, key)
            builder.add(1, value)
            tables.append(builder.endTable())
        }
        return builder.vector(of: tables)
    }

    static func schemaTable(_ schema: ArrowSchema, _ builder: inout FlatBufferBuilder) -> FlatBufferBuilder.Offset {
        let fields = schema.fields.map { fieldTable($0, &builder) }
        let fieldVector = builder.vector(of: fields)
        let metadata = keyValues(schema.metadata, &builder)
        builder.startTable(slots: 4)
        builder.add(0, Int16(0))  // little-endian
        builder.add(1, fieldVector)
        builder.add(2, metadata)
        return builder.endTable()
    }

    private static func fieldTable(_ field: ArrowField, _ builder: inout FlatBufferBuilder) -> FlatBufferBuilder.Offset
    {
        let name = builder.string(field.name)
        let (tag, type) = typeTable(field.type, &builder)
        var children: [FlatBufferBuilder.Offset] = []
        if case .list(let element) = field.type { children.append(fieldTable(element, &builder)) }
        let childVector = builder.vector(of: children)
        var dictionary: FlatBufferBuilder.Offset?
        if let encoding = field.dictionary {
            builder.startTable(slots: 2)
            builder.add(0, Int32(32))
            builder.add(1, true)
            let indexType = builder.endTable()
            builder.startTable(slots: 4)
            builder.add(0, encoding.id)
            builder.add(1, indexType)
            dictionary = builder.endTable()
        }
        let metadata = keyValues(field.metadata, &builder)
        builder.startTable(slots: 7)
        builder.add(0, name)
        builder.add(1, field.nullable)
        builder.add(2, tag, default: nil)
        builder.add(3, type)
        builder.add(4, dictionary)
        builder.add(5, childVector)
        builder.add(6, metadata)
        return builder.endTable()
    }

    /// The `Type` union's tag and table for `type` (Schema.fbs).
    private static func typeTable(_ type: ArrowType, _ builder: inout FlatBufferBuilder) -> (
        UInt8, FlatBufferBuilder.Offset
    ) {
        func empty(_ tag: UInt8) -> (UInt8, FlatBufferBuilder.Offset) {
            builder.startTable(slots: 0)
            return (tag, builder.endTable())
        }
        switch type {
        case .null: return empty(1)
        case .int(let bitWidth, let signed):
            builder.startTable(slots: 2)
            builder.add(0, Int32(bitWidth))
            builder.add(1, signed)
            return (2, builder.endTable())
        case .float32, .float64:
            builder.startTable(slots: 1)
            builder.add(0, Int16(type == .float32 ? 1 : 2))
            return (3, builder.endTable())
        case .binary: return empty(4)
        case .utf8: return empty(5)
        case .bool: return empty(6)
        case .decimal128(let precision, let scale):
            builder.startTable(slots: 3)
            builder.add(0, Int32(precision))
            builder.add(1, Int32(scale))
            builder.add(2, Int32(128), default: nil)
            return (7, builder.endTable())
        case .date32:
            builder.startTable(slots: 1)
            builder.add(0, Int16(0), default: nil)  // DAY; the default is MILLISECOND
            return (8, builder.endTable())
        case .timestampMicroseconds(let timezone):
            let zone = timezone.map { builder.string($0) }
            builder.startTable(slots: 2)
            builder.add(0, Int16(2))  // MICROSECOND
            builder.add(1, zone)
            return (10, builder.endTable())
        case .list: return empty(12)
        case .fixedSizeBinary(let byteWidth):
            builder.startTable(slots: 1)
            builder.add(0, Int32(byteWidth))
            return (15, builder.endTable())
        case .largeUTF8: return empty(20)
        }
    }

    // MARK: Bodies

    private func recordBatchTable(length: Int, columns: [ArrowArray], _ builder: inout FlatBufferBuilder)
        throws(ArrowIPCError) -> (FlatBufferBuilder.Offset, [UInt8])
    {
        var nodes: [(Int64, Int64)] = []
        var buffers: [(Int64, Int64)] = []
        var body: [UInt8] = []
        body.reserveCapacity(columns.reduce(0) { $0 + $1.byteCount } + 64 * 4 * columns.count)
        func pad() {
            let padding = (Self.bodyAlignment - body.count % Self.bodyAlignment) % Self.bodyAlignment
            body.append(contentsOf: repeatElement(0, count: padding))
        }
        func walk(_ array: ArrowArray) throws(ArrowIPCError) {
            nodes.append((Int64(array.length), Int64(array.nullCount)))
            for buffer in array.buffers {
                let start = body.count
                if buffer.isEmpty {
                    // Nothing, not even a length prefix.
                } else if let compression {
                    withUnsafeBytes(of: Int64(buffer.count).littleEndian) { body.append(contentsOf: $0) }
                    if let compressed = try compression.compress(buffer) {
                        body.append(contentsOf: compressed)
                    } else {
                        body.withUnsafeMutableBytes { bytes in
                            bytes.storeBytes(of: Int64(-1).littleEndian, toByteOffset: start, as: Int64.self)
                        }
                        body.append(contentsOf: buffer)
                    }
                } else {
                    body.append(contentsOf: buffer)
                }
                buffers.append((Int64(start), Int64(body.count - start)))
                pad()
            }
            for child in array.children { try walk(child) }
        }
        for column in columns { try walk(column) }
        let nodeVector = builder.vector(ofPairs: nodes)
        let bufferVector = builder.vector(ofPairs: buffers)
        var compressionTable: FlatBufferBuilder.Offset?
        if let compression {
            builder.startTable(slots: 2)
            builder.add(0, compression.codec, default: nil)
            builder.add(1, Int8(0))  // BUFFER
            compressionTable = builder.endTable()
        }
        builder.startTable(slots: 5)
        builder.add(0, Int64(length))
        builder.add(1, nodeVector)
        builder.add(2, bufferVector)
        builder.add(3, compressionTable)
        return (builder.endTable(), body)
    }
}
