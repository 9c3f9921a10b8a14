import Activation
import Foundation
import TOMLKit

/// The TOML files both programs read (a workstation's `config.toml`, an authority's `customer-service.toml`), parsed
/// the one safe way.
package enum TOMLText {
    /// `text` as a table, or a data error (65) that names `path` and the line at fault.
    package static func parse(_ text: String, path: String) throws(CLIError) -> TOMLTable {
        if let (line, why) = shapeProblem(text) { throw invalid(path, "not valid TOML (line \(line): \(why))") }
        do {
            return try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw invalid(path, "not valid TOML (line \(error.source.begin.line): \(error.description))")
        } catch {
            throw invalid(path, "not valid TOML")
        }
    }

    /// A data error (65) about the file at `path`.
    package static func invalid(_ path: String, _ why: String) -> CLIError {
        CLIError(status: ExitStatus.dataError, message: "\(InputText.printable(path, limit: 1_000)): \(why)")
    }

    /// The string at `key` of `table` (nil when absent); `section` names it in the message (`authority.`).
    package static func string(_ table: TOMLTable, _ key: String, _ section: String, path: String) throws(CLIError) -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else { throw invalid(path, "\(section)\(key) must be a string") }
        return text
    }

    /// The first line whose shape this file cannot have, and why; nil when every line is a comment, a table header
    /// (`[name]`, `[a.b]`) or `key = value`.
    ///
    /// Checked before the text reaches toml++ (TOMLKit's parser), which asserts — aborting the program — on some
    /// malformed keys and headers (found by the fuzzer: `[+++ …`); the configuration uses only this part of TOML (no
    /// arrays of tables, no values over several lines).
    package static func shapeProblem(_ text: String) -> (line: Int, why: String)? {
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = Array(raw.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r"))).unicodeScalars)
            guard let first = line.first, first != "#" else { continue }
            if line.count >= 3,
                line.indices.dropLast(2).contains(where: {
                    line[$0] == line[$0 + 1] && line[$0] == line[$0 + 2] && (line[$0] == "\"" || line[$0] == "'")
                })
            {
                return (index + 1, "strings over several lines are not used in this file")
            }
            if first == "[" {
                guard var end = keyEnd(line, from: 1), end < line.count, line[end] == "]" else {
                    return (index + 1, "a table header is [name] or [name.name], names made of letters, digits, - and _, or quoted")
                }
                end = skipBlanks(line, from: end + 1)
                guard end == line.count || line[end] == "#" else { return (index + 1, "nothing but a comment may follow a table header") }
            } else {
                guard let end = keyEnd(line, from: 0), end < line.count, line[end] == "=" else {
                    return (index + 1, "a setting is name = value, the name made of letters, digits, - and _, or quoted")
                }
            }
        }
        return nil
    }

    /// Where a (dotted) key that starts at `start`, blanks allowed around its parts, ends (after its trailing blanks).
    private static func keyEnd(_ line: [Unicode.Scalar], from start: Int) -> Int? {
        var index = skipBlanks(line, from: start)
        while true {
            guard index < line.count else { return nil }
            let first = line[index]
            if first == "\"" || first == "'" {
                index += 1
                while index < line.count, line[index] != first {
                    if first == "\"", line[index] == "\\" { index += 1 }
                    index += 1
                }
                guard index < line.count else { return nil }
                index += 1
            } else {
                let bare = { (scalar: Unicode.Scalar) in
                    scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
                }
                guard bare(first) else { return nil }
                while index < line.count, bare(line[index]) { index += 1 }
            }
            index = skipBlanks(line, from: index)
            guard index < line.count, line[index] == "." else { return index }
            index = skipBlanks(line, from: index + 1)
        }
    }

    private static func skipBlanks(_ line: [Unicode.Scalar], from start: Int) -> Int {
        var index = start
        while index < line.count, line[index] == " " || line[index] == "\t" { index += 1 }
        return index
    }
}

extension CustomerService {
    /// The contact a TOML table gives, checked; nil when the table gives no field at all.
    ///
    /// `name`, `phone`, `email`, `web`, `hours` are English (and the default), a `[SECTION.fr]` table holds the French
    /// fields that differ. `section` is how the file names the table (empty: the file's top level).
    package static func parse(_ table: TOMLTable, section: String, path: String) throws(CLIError) -> CustomerService? {
        let fields = ["name", "phone", "email", "web", "hours"]
        func contact(_ table: TOMLTable, _ prefix: String) throws(CLIError) -> Contact {
            for key in table.keys where !fields.contains(key) && !(prefix == section && key == "fr") {
                throw TOMLText.invalid(path, "unknown setting \(prefix)\(key)")
            }
            return Contact(
                name: try TOMLText.string(table, "name", prefix, path: path), phone: try TOMLText.string(table, "phone", prefix, path: path),
                email: try TOMLText.string(table, "email", prefix, path: path), web: try TOMLText.string(table, "web", prefix, path: path),
                hours: try TOMLText.string(table, "hours", prefix, path: path))
        }
        let english = try contact(table, section)
        var french = Contact()
        if let value = table["fr"] {
            guard let frenchTable = value.table else { throw TOMLText.invalid(path, "[\(section)fr] must be a table") }
            french = try contact(frenchTable, section + "fr.")
        }
        if english == Contact(), french == Contact() { return nil }
        do {
            return try CustomerService(en: english, fr: french).validated()
        } catch {
            throw TOMLText.invalid(path, "\(section)\(error.field): \(error.why)")
        }
    }

    /// An authority's `customer-service.toml` (the whole file is the contact); nil when the file does not exist.
    package static func load(_ file: URL, language: Language) throws -> CustomerService? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        let text = try readTextFile(file.path, language: language)
        return try parse(try TOMLText.parse(text, path: file.path), section: "", path: file.path)
    }
}
