import CivilTime
import Foundation
import Testing

/// `UTCDateTime` against Foundation's ICU-backed calendar and formatters, which the product no longer loads.
@Suite struct UTCDateTimeTests {
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        return calendar
    }()

    /// Dates from 1601 to 2400 (leap days, century years, before 1970), fields and round trip.
    @Test func fieldsMatchTheGregorianCalendar() {
        var generator = SystemRandomNumberGenerator()
        let fixed: [TimeInterval] = [0, -1, 86_399, 86_400, 951_782_400, 951_868_799, 4_107_542_400, -11_644_473_600, 13_574_563_199]
        let random = (0..<5_000).map { _ in TimeInterval(Int64.random(in: -11_644_473_600...13_574_563_199, using: &generator)) }
        for seconds in fixed + random {
            let date = Date(timeIntervalSince1970: seconds)
            let time = UTCDateTime(date)
            let expected = Self.calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
            #expect(
                [time.year, time.month, time.day, time.hour, time.minute, time.second]
                    == [expected.year, expected.month, expected.day, expected.hour, expected.minute, expected.second].map { $0 ?? -1 }, "\(seconds)")
            #expect(time.weekday + 1 == expected.weekday, "\(seconds)")
            #expect(time.date == date, "\(seconds)")
        }
    }

    @Test func addingYearsMatchesTheCalendarLeapDayIncluded() throws {
        for text in ["2024-02-29T12:00:00Z", "2026-11-29T23:59:59Z", "2099-03-01T00:00:00Z", "1999-12-31T10:11:12Z"] {
            let date = try #require(ISO8601DateFormatter().date(from: text))
            for years in [1, 3, 4, 100, -1] {
                #expect(
                    UTCDateTime(date).adding(years: years).date == Self.calendar.date(byAdding: .year, value: years, to: date), "\(text) + \(years)")
            }
        }
    }

    @Test func writesISO8601AndRFC5322AsFoundationDoes() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        for seconds: TimeInterval in [0, 1_764_000_000.75, 2_000_000_000, 4_102_444_800, 951_782_400] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(UTCDateTime(date).iso8601 == ISO8601DateFormatter().string(from: date))
            #expect(UTCDateTime(date).rfc5322 == formatter.string(from: date))
        }
    }

    @Test func refusesFieldsOutOfRange() {
        #expect(UTCDateTime(year: 2026, month: 2, day: 29) == nil)
        #expect(UTCDateTime(year: 2028, month: 2, day: 29) != nil)
        #expect(UTCDateTime(year: 2026, month: 13, day: 1) == nil)
        #expect(UTCDateTime(year: 2026, month: 4, day: 31) == nil)
        #expect(UTCDateTime(year: 2026, month: 1, day: 1, hour: 24) == nil)
        #expect(UTCDateTime(year: 2026, month: 1, day: 1, second: 60) == nil)
    }
}
