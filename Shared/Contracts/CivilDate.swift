/// A proleptic Gregorian calendar date from a count of days (H. Hinnant's algorithm), for the
/// encoders that write dates without Foundation's calendar (which takes a lock in glibc).
public struct CivilDate: Sendable, Hashable {
    public var year: Int64
    public var month: Int64
    public var day: Int64

    /// The date `days` days after 1970-01-01 (negative: before).
    public init(daysSince1970 days: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days from 1970-01-01 to 1900-01-01 (SQL Server's day zero).
    public static let daysFrom1970To1900: Int64 = -25_567
}
