/// A validity bitmap being built: bit `i` (least significant bit first) is 1 when value `i` is
/// present. Nothing is allocated until the first null: a column without nulls sends an empty buffer.
@usableFromInline
struct ValidityBitmap: Sendable {
    @usableFromInline var bits: [UInt8] = []
    @usableFromInline var count = 0
    @usableFromInline var nullCount = 0

    @inlinable
    init() {}

    @inlinable
    mutating func append(_ present: Bool) {
        if !present && nullCount == 0 {
            // The first null: every earlier value was present.
            bits = [UInt8](repeating: 0xFF, count: count >> 3)
            if count & 7 != 0 { bits.append(UInt8((1 << (count & 7)) - 1)) }
        }
        if !present { nullCount += 1 }
        if nullCount > 0 {
            if count >> 3 >= bits.count { bits.append(0) }
            if present { bits[count >> 3] |= 1 << UInt8(count & 7) }
        }
        count += 1
    }

    /// The buffer (empty when nothing is null) and the null count; the bitmap starts empty again.
    @inlinable
    mutating func take() -> (buffer: [UInt8], nullCount: Int) {
        defer { self = ValidityBitmap() }
        return (nullCount == 0 ? [] : bits, nullCount)
    }
}
