/// The Arrow data types the fleet writes (the columnar format's logical types).
public indirect enum ArrowType: Sendable, Hashable {
    case null
    /// Signed or unsigned integers of 8, 16, 32 or 64 bits.
    case int(bitWidth: Int, signed: Bool)
    case float32
    case float64
    case bool
    /// UTF-8 text with 32-bit offsets (at most 2 GiB of text per array).
    case utf8
    /// UTF-8 text with 64-bit offsets.
    case largeUTF8
    case binary
    /// A 128-bit decimal: `precision` digits, `scale` of them after the point.
    case decimal128(precision: Int, scale: Int)
    /// Days since the UNIX epoch, 32-bit.
    case date32
    /// Microseconds since the UNIX epoch, 64-bit; `timezone` nil for wall-clock time.
    case timestampMicroseconds(timezone: String?)
    case fixedSizeBinary(byteWidth: Int)
    /// A variable-length list of `element`.
    case list(ArrowField)

    public static let int8 = ArrowType.int(bitWidth: 8, signed: true)
    public static let int16 = ArrowType.int(bitWidth: 16, signed: true)
    public static let int32 = ArrowType.int(bitWidth: 32, signed: true)
    public static let int64 = ArrowType.int(bitWidth: 64, signed: true)
}
