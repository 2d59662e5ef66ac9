/// A column of booleans, bit-packed (least significant bit first).
public struct BoolColumn: Sendable {
    @usableFromInline var bits: [UInt8] = []
    @usableFromInline var length = 0
    @usableFromInline var validity = ValidityBitmap()

    @inlinable
    public init() {}

    @inlinable
    public var count: Int { length }

    @inlinable
    public mutating func append(_ value: Bool?) {
        if length >> 3 >= bits.count { bits.append(0) }
        if value == true { bits[length >> 3] |= 1 << UInt8(length & 7) }
        validity.append(value != nil)
        length += 1
    }

    @inlinable
    public mutating func finish() -> ArrowArray {
        let (bitmap, nulls) = validity.take()
        defer {
            bits.removeAll(keepingCapacity: true)
            length = 0
        }
        return ArrowArray(length: length, nullCount: nulls, buffers: [bitmap, bits])
    }
}
