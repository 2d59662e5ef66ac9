/// A column of booleans, bit-packed (least significant bit first).
public struct BoolColumn: Sendable {
    private var bits: [UInt8] = []
    private var length = 0
    private var validity = ValidityBitmap()

    public init() {}

    public var count: Int { length }

    public mutating func append(_ value: Bool?) {
        if length >> 3 >= bits.count { bits.append(0) }
        if value == true { bits[length >> 3] |= 1 << UInt8(length & 7) }
        validity.append(value != nil)
        length += 1
    }

    public mutating func finish() -> ArrowArray {
        let (bitmap, nulls) = validity.take()
        defer {
            bits.removeAll(keepingCapacity: true)
            length = 0
        }
        return ArrowArray(length: length, nullCount: nulls, buffers: [bitmap, bits])
    }
}
