/// A column of fixed-width values: integers, floats, decimals (`Int128`), dates and timestamps.
/// Values are stored little-endian, as in memory on the platforms Swift on Linux runs on.
public struct PrimitiveColumn<Value: Numeric & BitwiseCopyable & Sendable>: Sendable {
    @usableFromInline var values: [Value] = []
    @usableFromInline var validity = ValidityBitmap()

    @inlinable
    public init() {}

    @inlinable
    public var count: Int { values.count }

    @inlinable
    public mutating func append(_ value: Value?) {
        values.append(value ?? .zero)
        validity.append(value != nil)
    }

    /// The batch's array; the column starts empty again.
    @inlinable
    public mutating func finish() -> ArrowArray {
        let (bitmap, nulls) = validity.take()
        let data = values.withUnsafeBytes { Array($0) }
        let length = values.count
        values.removeAll(keepingCapacity: true)
        return ArrowArray(length: length, nullCount: nulls, buffers: [bitmap, data])
    }
}
