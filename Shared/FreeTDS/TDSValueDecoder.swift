import Contracts

/// A column value as db-lib hands it over (`dbdata`: the type's C representation, little-endian
/// here) made into the JSON value the events carry, in the forms SQL Server's `FOR JSON` writes:
/// integers and decimals as numbers, `bit` as a boolean, dates and times in ISO 8601
/// (`2024-01-02T03:04:05.123`, `datetimeoffset` with `+02:00`), `uniqueidentifier` upper-case,
/// text as text (the connection's charset is UTF-8), binary as `\x` and lower-case hex (as the
/// other bridges write binary columns). A pure function: tests feed it recorded values.
public enum TDSValueDecoder {
    public struct Unsupported: Error, CustomStringConvertible {
        public var description: String
    }

    public static func json(type: Int32, bytes: [UInt8]) throws(Unsupported) -> JSONValue {
        var reader = Reader(bytes: bytes)
        switch type {
        case TDSType.int1: return .int(Int64(try reader.unsigned(1)))
        case TDSType.int2: return .int(Int64(Int16(truncatingIfNeeded: try reader.unsigned(2))))
        case TDSType.int4: return .int(Int64(Int32(truncatingIfNeeded: try reader.unsigned(4))))
        case TDSType.int8: return .int(Int64(bitPattern: try reader.unsigned(8)))
        case TDSType.intN:
            switch bytes.count {
            case 1: return try json(type: TDSType.int1, bytes: bytes)
            case 2: return try json(type: TDSType.int2, bytes: bytes)
            case 4: return try json(type: TDSType.int4, bytes: bytes)
            default: return try json(type: TDSType.int8, bytes: bytes)
            }
        case TDSType.bit, TDSType.bitN: return .bool(try reader.unsigned(1) != 0)
        case TDSType.float8: return number("\(Double(bitPattern: try reader.unsigned(8)))")
        case TDSType.real: return number("\(Float(bitPattern: UInt32(try reader.unsigned(4))))")
        case TDSType.floatN: return try json(type: bytes.count == 4 ? TDSType.real : TDSType.float8, bytes: bytes)
        case TDSType.money:
            let high = Int64(Int32(truncatingIfNeeded: try reader.unsigned(4)))
            let low = Int64(try reader.unsigned(4))
            return number(scaled(high << 32 | low, scale: 4))
        case TDSType.money4: return number(scaled(Int64(Int32(truncatingIfNeeded: try reader.unsigned(4))), scale: 4))
        case TDSType.moneyN: return try json(type: bytes.count == 4 ? TDSType.money4 : TDSType.money, bytes: bytes)
        case TDSType.decimal, TDSType.numeric: return number(try numeric(bytes))
        case TDSType.datetime:
            let days = Int64(Int32(truncatingIfNeeded: try reader.unsigned(4)))
            let ticks = Int64(Int32(truncatingIfNeeded: try reader.unsigned(4)))
            // 1/300 s ticks, shown as SQL Server shows them (.003, .007, .010).
            let millis = (ticks * 10 + 1) / 3
            return .string(
                date(days) + "T" + clock(seconds: millis / 1000)
                    + (millis % 1000 == 0 ? "" : "." + pad(millis % 1000, 3)))
        case TDSType.datetime4:
            let days = Int64(try reader.unsigned(2))
            let minutes = Int64(try reader.unsigned(2))
            return .string(date(days) + "T" + clock(seconds: minutes * 60))
        case TDSType.datetimeN:
            return try json(type: bytes.count == 4 ? TDSType.datetime4 : TDSType.datetime, bytes: bytes)
        case TDSType.date, TDSType.time, TDSType.datetime2, TDSType.datetimeOffset:
            return .string(try dateTimeAll(type: type, &reader))
        case TDSType.uniqueIdentifier:
            guard bytes.count == 16 else { throw Unsupported(description: "uniqueidentifier of \(bytes.count) bytes") }
            let order = [3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15]
            let hex = Array("0123456789ABCDEF".utf8)
            var out: [UInt8] = []
            for index in order {
                if index < 0 {
                    out.append(UInt8(ascii: "-"))
                    continue
                }
                out.append(hex[Int(bytes[index] >> 4)])
                out.append(hex[Int(bytes[index] & 15)])
            }
            return .string(String(decoding: out, as: UTF8.self))
        case TDSType.char, TDSType.varchar, TDSType.text, TDSType.ntext, TDSType.nvarchar, TDSType.xml,
            TDSType.bigVarChar, TDSType.bigChar, TDSType.nvarcharX, TDSType.ncharX:
            return .string(String(decoding: bytes, as: UTF8.self))
        case TDSType.binary, TDSType.varbinary, TDSType.image, TDSType.bigVarBinary, TDSType.bigBinary:
            let digits = Array("0123456789abcdef".utf8)
            var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
            for byte in bytes {
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 15)])
            }
            return .string(String(decoding: out, as: UTF8.self))
        default:
            throw Unsupported(description: "TDS type \(type) is not supported")
        }
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func unsigned(_ count: Int) throws(Unsupported) -> UInt64 {
            guard offset + count <= bytes.count else {
                throw Unsupported(description: "value of \(bytes.count) bytes is too short")
            }
            var value: UInt64 = 0
            for index in 0..<count { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
            offset += count
            return value
        }
    }

    static func number(_ text: String) -> JSONValue { (try? FastJSON.parse(text)) ?? .string(text) }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// `value / 10^scale` as decimal text with `scale` digits.
    static func scaled(_ value: Int64, scale: Int) -> String {
        var divisor: Int64 = 1
        for _ in 0..<scale { divisor *= 10 }
        let magnitude = value.magnitude
        let text = "\(magnitude / UInt64(divisor)).\(pad(Int64(magnitude % UInt64(divisor)), scale))"
        return value < 0 ? "-" + text : text
    }

    /// Days since 1900-01-01 as `YYYY-MM-DD`.
    static func date(_ daysSince1900: Int64) -> String {
        let civil = CivilDate(daysSince1970: daysSince1900 + CivilDate.daysFrom1970To1900)
        return "\(pad(civil.year, 4))-\(pad(civil.month, 2))-\(pad(civil.day, 2))"
    }

    static func clock(seconds: Int64) -> String {
        "\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))"
    }

    /// db-lib's `DBNUMERIC`: precision, scale, a sign byte (1: negative) and the magnitude
    /// big-endian in as many bytes as the precision needs.
    static func numeric(_ bytes: [UInt8]) throws(Unsupported) -> String {
        guard bytes.count >= 3 else { throw Unsupported(description: "numeric of \(bytes.count) bytes") }
        let precision = Int(bytes[0])
        let scale = Int(bytes[1])
        let sizes = [
            0, 2, 2, 3, 3, 4, 4, 4, 5, 5, 6, 6, 6, 7, 7, 8, 8, 9, 9, 9, 10, 10, 11, 11, 11, 12, 12, 13, 13, 14, 14, 14,
            15, 15, 16, 16, 16, 17, 17,
        ]
        guard precision >= 1, precision <= 38, scale <= precision, bytes.count >= 2 + sizes[precision] else {
            throw Unsupported(description: "numeric(\(precision),\(scale)) is not valid")
        }
        let negative = bytes[2] == 1
        var magnitude = Array(bytes[3..<(2 + sizes[precision])])
        // Repeated division by ten of the big-endian magnitude.
        var digits: [UInt8] = []
        while magnitude.contains(where: { $0 != 0 }) {
            var remainder = 0
            for index in magnitude.indices {
                let value = remainder << 8 | Int(magnitude[index])
                magnitude[index] = UInt8(value / 10)
                remainder = value % 10
            }
            digits.append(UInt8(ascii: "0") + UInt8(remainder))
        }
        while digits.count <= scale { digits.append(UInt8(ascii: "0")) }
        digits.reverse()
        var text = String(decoding: digits[..<(digits.count - scale)], as: UTF8.self)
        if scale > 0 { text += "." + String(decoding: digits[(digits.count - scale)...], as: UTF8.self) }
        return negative && digits.contains(where: { $0 != UInt8(ascii: "0") }) ? "-" + text : text
    }

    /// db-lib's `DBDATETIMEALL`: time in 100 ns units since midnight, days since 1900-01-01,
    /// the offset in minutes, and a word of flags (precision in the low 3 bits).
    static func dateTimeAll(type: Int32, _ reader: inout Reader) throws(Unsupported) -> String {
        let time = Int64(try reader.unsigned(8))
        let days = Int64(Int32(truncatingIfNeeded: try reader.unsigned(4)))
        let offset = Int64(Int16(truncatingIfNeeded: try reader.unsigned(2)))
        let flags = try reader.unsigned(2)
        let precision = Int(flags & 7)
        let seconds = time / 10_000_000
        var fraction = ""
        if precision > 0 {
            var units = time % 10_000_000
            for _ in precision..<7 { units /= 10 }
            fraction = "." + pad(units, precision)
        }
        let clockText = clock(seconds: seconds) + fraction
        switch type {
        case TDSType.date: return date(days)
        case TDSType.time: return clockText
        case TDSType.datetime2: return date(days) + "T" + clockText
        default:
            let sign = offset < 0 ? "-" : "+"
            return date(days) + "T" + clockText + sign + pad(abs(offset) / 60, 2) + ":" + pad(abs(offset) % 60, 2)
        }
    }
}
