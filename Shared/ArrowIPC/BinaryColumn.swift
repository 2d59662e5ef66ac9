/// A column of variable-length values: `utf8`, `binary` (32-bit offsets) or `largeUTF8` (64-bit
/// offsets), as the `Offset` type says.
public struct BinaryColumn<Offset: FixedWidthInteger & SignedInteger & BitwiseCopyable & Sendable>: Sendable {
    @usableFromInline var offsets: [Offset] = [0]
    @usableFromInline var data: [UInt8] = []
    @usableFromInline var validity = ValidityBitmap()

    @inlinable
    public init() {}

    @inlinable
    public var count: Int { offsets.count - 1 }
    /// Bytes of values held so far.
    @inlinable
    public var byteCount: Int { data.count }

    @inlinable
    public mutating func append(_ value: String?) {
        if let value { data.append(contentsOf: value.utf8) }
        close(present: value != nil)
    }

    @inlinable
    public mutating func append(bytes value: some Collection<UInt8>) {
        data.append(contentsOf: value)
        close(present: true)
    }

    /// Appends raw bytes with one copy (a `Collection` of bytes may be copied one at a time).
    @inlinable
    public mutating func append(raw value: UnsafeRawBufferPointer) {
        data.append(contentsOf: value)
        close(present: true)
    }

    @inlinable
    public mutating func appendNull() { close(present: false) }

    @inlinable
    mutating func close(present: Bool) {
        offsets.append(Offset(data.count))
        validity.append(present)
    }

    @inlinable
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
