import Contracts
import Foundation

/// One column value of a row image, as the same JSON value the capture triggers write (see
/// ``MySQLTriggers``): the two modes publish the same images.
enum BinlogValue {
    /// Decodes the value of `column` at the reader (not NULL: the null bitmap said so).
    static func decode(
        _ column: BinlogColumn, _ reader: inout BinlogBytes, charsets: MySQLCharsets
    ) throws(BinlogDecodingError) -> JSONValue {
        typealias Code = BinlogColumn.Code
        switch column.type {
        case Code.tiny: return integer(try reader.little(1), bytes: 1, unsigned: column.isUnsigned)
        case Code.short: return integer(try reader.little(2), bytes: 2, unsigned: column.isUnsigned)
        case Code.int24: return integer(try reader.little(3), bytes: 3, unsigned: column.isUnsigned)
        case Code.long: return integer(try reader.little(4), bytes: 4, unsigned: column.isUnsigned)
        case Code.longlong: return integer(try reader.little(8), bytes: 8, unsigned: column.isUnsigned)
        case Code.float:
            let value = Float(bitPattern: UInt32(try reader.little(4)))
            return number("\(value)")
        case Code.double:
            return number("\(Double(bitPattern: try reader.little(8)))")
        case Code.newdecimal:
            let text = try BinlogDecimal.text(
                &reader, precision: Int(column.metadata >> 8), scale: Int(column.metadata & 0xFF))
            return number(text)
        case Code.year:
            let value = try reader.byte()
            return .int(value == 0 ? 0 : 1900 + Int64(value))
        case Code.date, Code.newdate:
            let value = try reader.little(3)
            return .string(date(year: Int(value >> 9), month: Int(value >> 5 & 15), day: Int(value & 31)))
        case Code.timestamp:
            return .string(utc(seconds: Int64(try reader.little(4)), micros: 0, digits: 0))
        case Code.timestamp2:
            let seconds = Int64(try reader.big(4))
            let digits = Int(column.metadata)
            return .string(utc(seconds: seconds, micros: try fraction(&reader, digits: digits), digits: digits))
        case Code.datetime:
            let value = try reader.little(8)
            let (ymd, hms) = (value / 1_000_000, value % 1_000_000)
            return .string(
                date(year: Int(ymd / 10_000), month: Int(ymd / 100 % 100), day: Int(ymd % 100)) + " "
                    + clock(hours: Int(hms / 10_000), minutes: Int(hms / 100 % 100), seconds: Int(hms % 100)))
        case Code.datetime2:
            let packed = Int64(try reader.big(5)) - 0x80_0000_0000
            let digits = Int(column.metadata)
            let micros = try fraction(&reader, digits: digits)
            let ymd = packed >> 17
            let hms = packed & 0x1FFFF
            let yearMonth = ymd >> 5
            return .string(
                date(year: Int(yearMonth / 13), month: Int(yearMonth % 13), day: Int(ymd & 31)) + " "
                    + clock(hours: Int(hms >> 12), minutes: Int(hms >> 6 & 63), seconds: Int(hms & 63))
                    + fractionText(micros, digits: digits))
        case Code.time:
            var value = Int64(try reader.little(3))
            if value & 0x80_0000 != 0 { value -= 0x100_0000 }
            let magnitude = abs(value)
            return .string(
                (value < 0 ? "-" : "")
                    + clock(
                        hours: Int(magnitude / 10_000), minutes: Int(magnitude / 100 % 100),
                        seconds: Int(magnitude % 100)))
        case Code.time2:
            return .string(try time2(&reader, digits: Int(column.metadata)))
        case Code.bit:
            let bits = Int(column.metadata)
            return integer(try reader.big((bits + 7) / 8), bytes: 8, unsigned: true)
        case Code.enumeration:
            let index = Int(try reader.little(Int(column.metadata)))
            return .string(index >= 1 && index <= column.enumValues.count ? column.enumValues[index - 1] : "")
        case Code.set:
            let mask = try reader.little(Int(column.metadata))
            let names = column.setValues.enumerated().filter { mask & (1 << UInt64($0.offset)) != 0 }.map(\.element)
            return .string(names.joined(separator: ","))
        case Code.string:
            let length = Int(try reader.little(column.metadata < 256 ? 1 : 2))
            var bytes = Array(try reader.take(length))
            // BINARY(n) pads with zero bytes; the binlog leaves the padding out.
            if column.isBinary, bytes.count < Int(column.metadata) {
                bytes += [UInt8](repeating: 0, count: Int(column.metadata) - bytes.count)
            }
            return text(bytes, column, charsets)
        case Code.varchar, Code.varString:
            let length = Int(try reader.little(column.metadata < 256 ? 1 : 2))
            return text(Array(try reader.take(length)), column, charsets)
        case Code.blob, Code.tinyBlob, Code.mediumBlob, Code.longBlob:
            let length = Int(try reader.little(Int(column.metadata)))
            return text(Array(try reader.take(length)), column, charsets)
        case Code.geometry:
            let length = Int(try reader.little(Int(column.metadata)))
            return .string(hex(try reader.take(length)))
        default:
            throw BinlogDecodingError("column '\(column.name)': binlog type \(column.type) is not supported")
        }
    }

    static func integer(_ raw: UInt64, bytes: Int, unsigned: Bool) -> JSONValue {
        if unsigned {
            return raw <= UInt64(Int64.max) ? .int(Int64(raw)) : .double(Double(raw))
        }
        let shift = UInt64(64 - bytes * 8)
        return .int(Int64(bitPattern: raw << shift) >> Int64(shift))
    }

    /// A number's text as JSON reads it (`12.500` → 12.5, `7` → 7): the trigger's images go
    /// through the same parser.
    static func number(_ text: String) -> JSONValue {
        (try? FastJSON.parse(text)) ?? .string(text)
    }

    static func text(_ bytes: [UInt8], _ column: BinlogColumn, _ charsets: MySQLCharsets) -> JSONValue {
        if column.isBinary { return .string(hex(bytes[...])) }
        let string = charsets.decode(bytes, collation: column.collation)
        if column.isJSON, let value = try? FastJSON.parse(string) { return value }
        return .string(string)
    }

    /// `\x` and lower-case hex, as PostgreSQL writes `bytea` (and the triggers write binary columns).
    static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        out.reserveCapacity(2 + bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The fraction of a TIME2/DATETIME2/TIMESTAMP2 value, in microseconds.
    static func fraction(_ reader: inout BinlogBytes, digits: Int) throws(BinlogDecodingError) -> Int64 {
        switch digits {
        case 1, 2: return Int64(try reader.big(1)) * 10_000
        case 3, 4: return Int64(try reader.big(2)) * 100
        case 5, 6: return Int64(try reader.big(3))
        default: return 0
        }
    }

    /// A TIME2 of 1 to 4 fraction digits in the packed form: 3 bytes of seconds part with an
    /// offset, then the fraction in `fractionBytes` bytes of `scale` microseconds, borrowed from
    /// the seconds part when negative.
    static func packedTime(_ reader: inout BinlogBytes, fractionBytes: Int, scale: Int64) throws(BinlogDecodingError)
        -> Int64
    {
        var integer = Int64(try reader.big(3)) - 0x80_0000
        var fraction = Int64(try reader.big(fractionBytes))
        if integer < 0, fraction != 0 {
            integer += 1
            fraction -= 1 << (8 * fractionBytes)
        }
        return integer << 24 + fraction * scale
    }

    static func time2(_ reader: inout BinlogBytes, digits: Int) throws(BinlogDecodingError) -> String {
        // The packed form: (seconds part << 24) + microseconds, signed, stored with an offset.
        var packed: Int64
        switch digits {
        case 1, 2: packed = try packedTime(&reader, fractionBytes: 1, scale: 10_000)
        case 3, 4: packed = try packedTime(&reader, fractionBytes: 2, scale: 100)
        case 5, 6:
            packed = Int64(try reader.big(6)) - 0x8000_0000_0000
        default:
            packed = (Int64(try reader.big(3)) - 0x80_0000) << 24
        }
        let negative = packed < 0
        if negative { packed = -packed }
        let hms = packed >> 24
        let micros = packed % (1 << 24)
        return (negative ? "-" : "")
            + clock(hours: Int(hms >> 12 % 1024), minutes: Int(hms >> 6 & 63), seconds: Int(hms & 63))
            + fractionText(micros, digits: digits)
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    static func date(year: Int, month: Int, day: Int) -> String {
        "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    static func clock(hours: Int, minutes: Int, seconds: Int) -> String {
        "\(pad(hours, 2)):\(pad(minutes, 2)):\(pad(seconds, 2))"
    }

    static func fractionText(_ micros: Int64, digits: Int) -> String {
        guard digits > 0 else { return "" }
        var scaled = micros
        for _ in digits..<6 { scaled /= 10 }
        return "." + pad(Int(scaled), digits)
    }

    /// An instant as UTC `YYYY-MM-DD HH:MM:SS[.fraction]`.
    static func utc(seconds: Int64, micros: Int64, digits: Int) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let civil = CivilDate(daysSince1970: days)
        return date(year: Int(civil.year), month: Int(civil.month), day: Int(civil.day)) + " "
            + clock(hours: secondOfDay / 3_600, minutes: secondOfDay / 60 % 60, seconds: secondOfDay % 60)
            + fractionText(micros, digits: digits)
    }
}
