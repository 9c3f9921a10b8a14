import CivilTime
import Foundation
import ParapheResources
import Synchronization

/// The languages Paraphe speaks.
public enum Language: String, CaseIterable, Sendable, Codable {
    case en, fr

    /// The other language (what F2 switches to).
    public var other: Language { self == .en ? .fr : .en }
}

/// Looks up texts in `Resources/strings/{en,fr}.json` and fills `{placeholders}`.
public struct Localizer: Sendable {
    public let language: Language
    private let table: [String: String]

    /// Each language's table, read from the bundle the first time it is needed (a wizard in English
    /// never reads the French table unless F2 is pressed).
    private static let tables = Mutex<[Language: [String: String]]>([:])

    private static func table(_ language: Language) -> [String: String] {
        tables.withLock { tables in
            if let table = tables[language] { return table }
            var table: [String: String] = [:]
            if let data = ParapheResources.data("strings", "\(language.rawValue).json"),
                let decoded = try? JSONDecoder().decode([String: String].self, from: data)
            {
                table = decoded
            }
            tables[language] = table
            return table
        }
    }

    public init(_ language: Language) {
        self.language = language
        self.table = Self.table(language)
    }

    /// Every key of the language's table (for completeness tests).
    public var keys: Set<String> { Set(table.keys) }

    /// The options every command this program suggests must carry to work as printed (the data
    /// directory and profile folder it was started with): `{dataDirOption}` and `{profileDirOption}`
    /// in the texts.
    ///
    /// Set once by the command line when it starts; empty until then.
    private static let commandOptions = Mutex<[String: String]>(["dataDirOption": "", "profileDirOption": ""])

    /// Sets the options suggested commands carry (each a leading space and a shell-quoted option, or empty).
    public static func setCommandOptions(dataDirectory: String, profileDirectory: String) {
        commandOptions.withLock { $0 = ["dataDirOption": dataDirectory, "profileDirOption": profileDirectory] }
    }

    /// The text for `key` with each `{name}` replaced by `arguments[name]`; the key itself if missing.
    public func text(_ key: String, _ arguments: [String: String] = [:]) -> String {
        var text = table[key] ?? (language == .en ? nil : Self.table(.en)[key]) ?? key
        for (name, value) in arguments {
            text = text.replacingOccurrences(of: "{\(name)}", with: value)
        }
        if text.contains("Option}") {
            for (name, value) in Self.commandOptions.withLock({ $0 }) {
                text = text.replacingOccurrences(of: "{\(name)}", with: value)
            }
        }
        return text
    }

    /// A date and time as people of this language write it, in UTC (`2026-12-10 14:03 UTC`).
    public func dateTime(_ date: Date) -> String {
        let time = UTCDateTime(date)
        let day = "\(time.pad(time.year, 4))-\(time.pad(time.month))-\(time.pad(time.day))"
        return language == .en
            ? "\(day) \(time.pad(time.hour)):\(time.pad(time.minute)) UTC" : "\(day) \(time.pad(time.hour)) h \(time.pad(time.minute)) UTC"
    }
}

/// Hides most of an email address: `jeanne@example.com` → `j•••@example.com`.
public func maskedEmail(_ email: String) -> String {
    guard let at = email.lastIndex(of: "@"), at > email.startIndex else { return "•••" }
    let first = email[email.startIndex]
    return "\(first)•••\(email[at...])"
}
