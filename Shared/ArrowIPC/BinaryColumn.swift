/// A column of variable-length values: `utf8`, `binary` (32-bit offsets) or `largeUTF8` (64-bit
/// offsets), as the `Offset` type says.
public struct BinaryColumn<Offset: FixedWidthInteger & SignedInteger & BitwiseCopyable & Sendable>: Sendable {
    private var offsets: [Offset] = [0]
    private var data: [UInt8] = []
    private var validity = ValidityBitmap()

    public init() {}

    public var count: Int { offsets.count - 1 }
    /// Bytes of values held so far.
    public var byteCount: Int { data.count }

    public mutating func append(_ value: String?) {
        if let value { data.append(contentsOf: value.utf8) }
        close(present: value != nil)
    }

    public mutating func append(bytes value: some Collection<UInt8>) {
        data.append(contentsOf: value)
        close(present: true)
    }

    public mutating func appendNull() { close(present: false) }

    private mutating func close(present: Bool) {
        offsets.append(Offset(data.count))
        validity.append(present)
    }

    public mutating func finish() -> ArrowArray {
        let (bitmap, nulls) = validity.take()
        let array = ArrowArray(
            length: offsets.count - 1, nullCount: nulls,
            buffers: [bitmap, offsets.withUnsafeBytes { Array($0) }, data])
        offsets.removeAll(keepingCapacity: true)
        offsets.append(0)
        data.removeAll(keepingCapacity: true)
        return array
    }
}

/// `utf8`: text with 32-bit offsets.
public typealias UTF8Column = BinaryColumn<Int32>
/// `largeUTF8`: text with 64-bit offsets.
public typealias LargeUTF8Column = BinaryColumn<Int64>
