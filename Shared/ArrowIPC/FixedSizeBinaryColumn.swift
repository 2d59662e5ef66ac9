/// A column of values of `byteWidth` bytes each (`fixed_size_binary`; UUIDs are 16).
public struct FixedSizeBinaryColumn: Sendable {
    public let byteWidth: Int
    @usableFromInline var data: [UInt8] = []
    @usableFromInline var validity = ValidityBitmap()

    @inlinable
    public init(byteWidth: Int) { self.byteWidth = byteWidth }

    @inlinable
    public var count: Int { validity.count }

    /// Appends `value`, which must be `byteWidth` bytes long; nil appends a null.
    @inlinable
    public mutating func append(_ value: (some Collection<UInt8>)?) {
        if let value {
            precondition(value.count == byteWidth, "a fixed-size value of \(value.count) bytes, not \(byteWidth)")
            data.append(contentsOf: value)
        } else {
            data.append(contentsOf: repeatElement(0, count: byteWidth))
        }
        validity.append(value != nil)
    }

    @inlinable
    public mutating func appendNull() { append(nil as [UInt8]?) }

    @inlinable
    public mutating func finish() -> ArrowArray {
        let length = validity.count
        let (bitmap, nulls) = validity.take()
        defer { data.removeAll(keepingCapacity: true) }
        return ArrowArray(length: length, nullCount: nulls, buffers: [bitmap, data])
    }
}
