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

/// The options a command Paraphe suggests must carry to work as printed: the data directory and profile folder the
/// program was started with (`{dataDirOption}` and `{profileDirOption}` in the texts; empty when not known).
public struct CommandOptions: Equatable, Sendable {
    public var dataDirectory: String?
    public var profileDirectory: String?

    public init(dataDirectory: String? = nil, profileDirectory: String? = nil) {
        self.dataDirectory = dataDirectory
        self.profileDirectory = profileDirectory
    }

    /// Each option as the texts take it: a leading space and the shell-quoted option, or empty.
    public var arguments: [String: String] {
        [
            "dataDirOption": dataDirectory.map { " --data-dir " + shellQuoted($0) } ?? "",
            "profileDirOption": profileDirectory.map { " --profile-dir " + shellQuoted($0) } ?? "",
        ]
    }
}

/// `text` as one word for a POSIX shell: as is when it holds only safe characters, else single-quoted.
public func shellQuoted(_ text: String) -> String {
    let safe = text.unicodeScalars.allSatisfy { scalar in
        scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "/._-+:@%,=".unicodeScalars.contains(scalar)
    }
    return safe && !text.isEmpty ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// Looks up texts in `Resources/strings/{en,fr}.json` and fills `{placeholders}`.
public struct Localizer: Sendable {
    public let language: Language
    /// What the commands this text suggests must carry (`{dataDirOption}`, `{profileDirOption}`).
    public let commandOptions: CommandOptions
    /// Whom a text that sends the person to customer service names (`{customerService}`: the contact's sentence, or
    /// nothing when none is known).
    public let customerService: CustomerService?
    private let table: [String: String]

    /// Each language's table, read from the bundle the first time it is needed (a wizard in English
    /// never reads the French table unless F2 is pressed).
    private static let tables = Mutex<[Language: [String: String]]>([:])

    private static func table(_ language: Language) -> [String: String] {
        tables.withLock { tables in
            if let table = tables[language] { return table }
            var table: [String: String] = [:]
            // JSONSerialization reads the flat table in half the time JSONDecoder takes (0.33 ms against 0.7 at
            // the first screen, docs/benchmarks.md).
            if let data = ParapheResources.data("strings", "\(language.rawValue).json"),
                let decoded = (try? JSONSerialization.jsonObject(with: data)) as? [String: String]
            {
                table = decoded
            }
            tables[language] = table
            return table
        }
    }

    public init(_ language: Language, commandOptions: CommandOptions = CommandOptions(), customerService: CustomerService? = nil) {
        self.language = language
        self.commandOptions = commandOptions
        self.customerService = customerService
        self.table = Self.table(language)
    }

    /// The same texts without the customer service's contact (a screen that shows it apart).
    public var withoutContact: Localizer { Localizer(language, commandOptions: commandOptions) }

    /// Every key of the language's table (for completeness tests).
    public var keys: Set<String> { Set(table.keys) }

    /// The text for `key` with each `{name}` replaced by `arguments[name]`; the key itself if missing.
    public func text(_ key: String, _ arguments: [String: String] = [:]) -> String {
        var text = rawText(key)
        // Before the arguments: a value that holds the placeholder is never expanded.
        if text.contains("{customerService}") {
            text = text.replacingOccurrences(of: "{customerService}", with: customerService.map { " " + contactSentence($0) } ?? "")
        }
        for (name, value) in arguments {
            text = text.replacingOccurrences(of: "{\(name)}", with: value)
        }
        if text.contains("Option}") {
            for (name, value) in commandOptions.arguments {
                text = text.replacingOccurrences(of: "{\(name)}", with: value)
            }
        }
        return text
    }

    /// The text of `key` with its placeholders (this language's, else English, else the key).
    func rawText(_ key: String) -> String {
        table[key] ?? (language == .en ? nil : Self.table(.en)[key]) ?? key
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
