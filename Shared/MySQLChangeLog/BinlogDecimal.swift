/// DECIMAL values in the binlog's packed format: groups of nine digits in four big-endian bytes,
/// a shorter leading and trailing group, the sign in the first bit (negative numbers have every
/// bit inverted).
enum BinlogDecimal {
    private static let bytesForDigits = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4]

    /// The value's text (`-12.500`), with exactly `scale` fraction digits.
    static func text(_ reader: inout BinlogBytes, precision: Int, scale: Int) throws(BinlogDecodingError) -> String {
        guard precision > 0, precision <= 65, scale >= 0, scale <= precision else {
            throw BinlogDecodingError("decimal(\(precision),\(scale)) is not a valid type")
        }
        let integerDigits = precision - scale
        let (fullIntegers, leadingDigits) = (integerDigits / 9, integerDigits % 9)
        let (fullFractions, trailingDigits) = (scale / 9, scale % 9)
        let size =
            fullIntegers * 4 + bytesForDigits[leadingDigits] + fullFractions * 4 + bytesForDigits[trailingDigits]
        var bytes = Array(try reader.take(size))
        guard !bytes.isEmpty else { throw BinlogDecodingError("empty decimal") }
        let negative = bytes[0] & 0x80 == 0
        bytes[0] ^= 0x80
        if negative { for index in bytes.indices { bytes[index] = ~bytes[index] } }
        var group = BinlogBytes(bytes)
        func digits(_ count: Int, width: Int) throws(BinlogDecodingError) -> String {
            let value = try group.big(count)
            let text = String(value)
            return width > text.count ? String(repeating: "0", count: width - text.count) + text : text
        }
        var integer = ""
        if leadingDigits > 0 { integer += try digits(bytesForDigits[leadingDigits], width: leadingDigits) }
        for _ in 0..<fullIntegers { integer += try digits(4, width: 9) }
        var fraction = ""
        for _ in 0..<fullFractions { fraction += try digits(4, width: 9) }
        if trailingDigits > 0 { fraction += try digits(bytesForDigits[trailingDigits], width: trailingDigits) }
        let trimmed = integer.drop { $0 == "0" }
        var text = (negative ? "-" : "") + (trimmed.isEmpty ? "0" : String(trimmed))
        if scale > 0 { text += "." + fraction }
        return text
    }
}
