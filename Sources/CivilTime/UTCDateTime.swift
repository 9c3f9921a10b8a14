import Foundation

/// A moment as its UTC calendar fields, by arithmetic on days since 1970.
///
/// The proleptic Gregorian calendar, as X.509, email and ISO 8601 write dates; the algorithms are Howard Hinnant's
/// `days_from_civil` and `civil_from_days`.
///
/// Foundation's `DateFormatter`, `ISO8601DateFormatter` and `Calendar` load ICU and its data for the same work —
/// several MiB of a kiosk's memory for a date in UTC; this type is all Paraphe needs to print and compute dates.
public struct UTCDateTime: Equatable, Hashable, Sendable {
    public let year: Int
    /// The month, 1 to 12.
    public let month: Int
    /// The day of the month, 1 to 31.
    public let day: Int
    public let hour: Int
    public let minute: Int
    public let second: Int

    /// The fields of `date` (fractions of a second dropped, towards the past).
    public init(_ date: Date) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        let secondOfDay = seconds - days * 86_400
        (year, month, day) = Self.civil(fromDays: days)
        hour = secondOfDay / 3_600
        minute = secondOfDay % 3_600 / 60
        second = secondOfDay % 60
    }

    /// The moment with these fields; nil for a field out of range (a 30 February, a 61st second).
    public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        guard (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day),
            (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second)
        else { return nil }
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
    }

    public var date: Date {
        Date(timeIntervalSince1970: Self.secondsSince1970(year: year, month: month, day: day, hour: hour, minute: minute, second: second))
    }

    /// Seconds since 1970 of these fields, unchecked (a leap second's 60 counts as the next minute's 0).
    public static func secondsSince1970(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> TimeInterval {
        TimeInterval(days(fromCivil: year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
    }

    /// The same day and time `years` later (29 February becomes 28 February in a common year), as
    /// `Calendar.date(byAdding: .year, …)` does.
    public func adding(years: Int) -> UTCDateTime {
        let target = year + years
        let clamped = min(day, Self.daysIn(month: month, year: target))
        return UTCDateTime(year: target, month: month, day: clamped, hour: hour, minute: minute, second: second) ?? self
    }

    /// 0 Sunday … 6 Saturday.
    public var weekday: Int {
        let days = Self.days(fromCivil: year, month, day)
        return ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday (4)
    }

    /// `2026-12-10T14:03:00Z`, as `ISO8601DateFormatter` writes it by default.
    public var iso8601: String {
        "\(pad(year, 4))-\(pad(month))-\(pad(day))T\(pad(hour)):\(pad(minute)):\(pad(second))Z"
    }

    /// `Thu, 10 Dec 2026 14:03:00 +0000` (RFC 5322 §3.3).
    public var rfc5322: String {
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(weekdays[weekday]), \(pad(day)) \(months[month - 1]) \(pad(year, 4)) \(pad(hour)):\(pad(minute)):\(pad(second)) +0000"
    }

    /// A number with leading zeros to `width` digits.
    public func pad(_ value: Int, _ width: Int = 2) -> String {
        let digits = String(abs(value))
        return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
