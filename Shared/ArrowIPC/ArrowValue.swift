/// Text forms of values turned into the integers Arrow stores: decimals, dates, timestamps.
public enum ArrowValue {
    /// `text` (`-12.5`, `3`, `1e3` is refused) as the unscaled integer of a decimal with `scale`
    /// digits after the point, checked against `precision` digits.
    public static func decimal(_ text: String, precision: Int, scale: Int) throws(ArrowIPCError) -> Int128 {
        var digits = Substring(text)
        let negative = digits.first == "-"
        if negative || digits.first == "+" { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        var fraction = parts.count > 1 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty), whole.allSatisfy(\.isASCIIDigit),
            fraction.allSatisfy(\.isASCIIDigit)
        else { throw ArrowIPCError(code: .invalidValue, message: "'\(text)' is not a decimal number") }
        // Digits beyond the scale must be zeros: a decimal column never rounds silently.
        if fraction.count > scale {
            guard fraction.dropFirst(scale).allSatisfy({ $0 == "0" }) else {
                throw ArrowIPCError(code: .invalidValue, message: "'\(text)' has more than \(scale) decimal places")
            }
            fraction = fraction.prefix(scale)
        }
        let padded = String(whole.drop { $0 == "0" }) + fraction + String(repeating: "0", count: scale - fraction.count)
        let significant = padded.drop { $0 == "0" }
        guard significant.count <= precision else {
            throw ArrowIPCError(code: .invalidValue, message: "'\(text)' has more than \(precision) digits")
        }
        var value: Int128 = 0
        for digit in significant.utf8 { value = value * 10 + Int128(digit - UInt8(ascii: "0")) }
        return negative ? -value : value
    }

    /// Days since 1970-01-01 of a proleptic Gregorian `YYYY-MM-DD` (what PostgreSQL prints for
    /// `date`), or nil.
    public static func days(_ text: String) -> Int32? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        return Int32(exactly: daysFromCivil(year: year, month: month, day: day))
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
