import Activation
import AuthorityInterface
import CivilTime
import Foundation
import ParapheResources
import ParapheShared
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The two emails the authority sends.
enum MailKind: String, Sendable {
    case approval, renewal, recovery
}

/// Where the authority's emails go, as `--mail` names it: a Maildir (`maildir:DIR`, the default being
/// `DATA_DIR/mail`) or a sendmail-compatible program (`sendmail:PATH`, the Unix convention: the message on
/// its standard input, the recipient as its argument after `-i --`).
public enum MailDestination: Sendable, Equatable {
    case maildir(URL)
    case sendmail(URL)

    public init(parsing text: String) throws(AuthorityError) {
        if text.hasPrefix("maildir:"), text.count > "maildir:".count {
            self = .maildir(URL(fileURLWithPath: String(text.dropFirst("maildir:".count))))
        } else if text.hasPrefix("sendmail:"), text.count > "sendmail:".count {
            self = .sendmail(URL(fileURLWithPath: String(text.dropFirst("sendmail:".count))))
        } else {
            throw AuthorityError(.badRequest, "--mail takes maildir:DIR or sendmail:PATH")
        }
    }
}

/// An email in the registry's outbox: written in the same transaction as the change that sends it, delivered
/// after the commit by whichever instance claims it first, and marked delivered; so an instance that dies
/// between the commit and the delivery loses nothing (another delivers it) and doubles nothing (a Maildir
/// delivery is named by `id` and done once; see `MailTransport`).
package struct OutgoingMail: Sendable, Equatable {
    /// Unique: the Maildir file name and the Message-ID's local part.
    package var id: String
    package var recipient: String
    /// The whole message, LF line ends.
    package var message: [UInt8]

    package init(id: String, recipient: String, message: [UInt8]) {
        self.id = id
        self.recipient = recipient
        self.message = message
    }
}

/// Delivers one email; delivering the same `id` twice must not deliver it twice where the destination can tell.
protocol MailTransport: Sendable {
    /// The file the email landed in, when the destination is a Maildir.
    func deliver(_ mail: OutgoingMail) throws(AuthorityError) -> URL?
}

/// Maildir delivery: `tmp/ID`, fsynced, then linked to `new/ID`.
///
/// A second delivery of the same ID finds it in `new/` (or already read, in `cur/ID:2,…`) and does
/// nothing.
struct MaildirTransport: MailTransport {
    let directory: URL

    init(directory: URL) throws(AuthorityError) {
        self.directory = directory
        for sub in ["", "tmp", "new", "cur"] {
            try FileSystem.makeDirectory(sub.isEmpty ? directory : directory.appendingPathComponent(sub), code: .mail)
        }
    }

    func deliver(_ mail: OutgoingMail) throws(AuthorityError) -> URL? {
        let delivered = directory.appendingPathComponent("new").appendingPathComponent(mail.id)
        if isDelivered(mail.id) { return delivered }
        let temporary = directory.appendingPathComponent("tmp").appendingPathComponent(mail.id)
        unlink(temporary.path)  // a previous attempt's leftover
        do {
            try FileSystem.createExclusive(temporary, bytes: mail.message, mode: 0o600, code: .mail)
        } catch let error as AuthorityError {
            throw error
        } catch {
            throw AuthorityError(.mail, "cannot write the email to mail/tmp")
        }
        defer { unlink(temporary.path) }
        if link(temporary.path, delivered.path) != 0, errno != EEXIST {
            throw AuthorityError(.mail, "cannot move the email into mail/new: \(FileSystem.errnoText())")
        }
        FileSystem.syncDirectory(delivered.deletingLastPathComponent())
        return delivered
    }

    private func isDelivered(_ id: String) -> Bool {
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("new").appendingPathComponent(id).path) { return true }
        let read = (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("cur").path)) ?? []
        return read.contains { $0 == id || $0.hasPrefix(id + ":") }
    }
}

/// Delivery through a sendmail-compatible program: `PATH -i -- RECIPIENT` with the message on standard
/// input; exit status 0 is delivery.
///
/// If the instance dies after the program accepted the message and before the outbox row is marked,
/// another instance hands it over again (at least once); the Message-ID is the same, which is what a
/// mail system deduplicates by.
struct SendmailTransport: MailTransport {
    let program: URL
    /// A `sendmail` that has not finished by then is stopped and the email stays in the outbox.
    static let timeout: DispatchTimeInterval = .seconds(30)

    func deliver(_ mail: OutgoingMail) throws(AuthorityError) -> URL? {
        let process = Process()
        process.executableURL = program
        process.arguments = ["-i", "--", mail.recipient]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
            try input.fileHandleForWriting.write(contentsOf: Data(mail.message))
            try input.fileHandleForWriting.close()
        } catch {
            process.terminate()
            throw AuthorityError(.mail, "cannot run \(program.path)")
        }
        guard exited.wait(timeout: .now() + Self.timeout) == .success else {
            process.terminate()
            throw AuthorityError(.mail, "\(program.lastPathComponent) did not finish within 30 s")
        }
        guard process.terminationStatus == 0 else {
            throw AuthorityError(.mail, "\(program.lastPathComponent) exited with status \(process.terminationStatus)")
        }
        return nil
    }
}

/// The RFC 5322 messages the authority sends.
struct Mailer: Sendable {
    let hostName: String
    /// Named under "contact our Customer Service" in every email (nil: that sentence alone).
    let customerService: CustomerService?

    static let from = "Paraphe Certification Authority <no-reply@paraphe.example>"
    static let messageIDDomain = "paraphe.example"
    /// RFC 5322 §2.1.1: no line longer than 998 bytes.
    static let maximumLineLength = 998

    private static let sequence = Atomic<UInt64>(0)

    init(customerService: CustomerService? = nil) {
        self.hostName = FileSystem.hostName()
        self.customerService = customerService
    }

    /// The message's variable parts.
    struct Content: Sendable {
        var kind: MailKind
        var subscriber: Subscriber
        var token: ApplicationToken
        var reference: ReferenceNumber
        var expiresAt: Date
    }

    /// Composes the email, named for the outbox (and the Maildir) uniquely.
    func prepare(_ content: Content, at now: Date, random: any RandomSource) throws -> OutgoingMail {
        let name = uniqueName(at: now, random: random)
        // The Message-ID reuses the name's unique part.
        let unique = name.split(separator: ".").prefix(2).joined(separator: ".")
        let bytes = Array(
            try Self.compose(content, at: now, messageID: "\(unique)@\(Self.messageIDDomain)", customerService: customerService).utf8)
        return OutgoingMail(id: name, recipient: content.subscriber.email, message: bytes)
    }

    /// `time.M<µs>P<pid>Q<n>R<random>.host`, the Maildir convention.
    private func uniqueName(at now: Date, random: any RandomSource) -> String {
        let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let micro = Int64((now.timeIntervalSince1970 - Double(seconds)) * 1_000_000)
        let count = Self.sequence.add(1, ordering: .relaxed).newValue
        return "\(seconds).M\(micro)P\(FileSystem.processID)Q\(count)R\(Hex.uppercase(random.bytes(8))).\(hostName)"
    }

    /// The whole message, LF line endings.
    static func compose(_ content: Content, at now: Date, messageID: String, customerService: CustomerService? = nil) throws(AuthorityError)
        -> String
    {
        let template = try Self.template(content.kind, content.subscriber.language)
        let localizer = Localizer(content.subscriber.language)
        let body = fill(
            template.body,
            [
                "name": content.subscriber.name,
                "link": content.token.link,
                "reference": content.reference.formatted,
                "expires": localizer.dateTime(content.expiresAt),
                // After "contact our Customer Service.": a blank line and the contact, one item a line, indented.
                "customerService": customerService.map { "\n\n" + localizer.contactLines($0).map { "  " + $0 }.joined(separator: "\n") } ?? "",
            ])
        var headers: [String] = []
        headers.append("From: \(from)")
        headers.append("To: \(mailbox(name: content.subscriber.name, email: content.subscriber.email))")
        headers.append("Subject: \(encodedHeaderText(template.subject, firstLinePrefix: "Subject: ".utf8.count))")
        headers.append("Date: \(rfc5322Date(now))")
        headers.append("Message-ID: <\(messageID)>")
        headers.append("MIME-Version: 1.0")
        headers.append("Content-Type: text/plain; charset=utf-8")
        headers.append("Content-Transfer-Encoding: 8bit")
        var bodyLines = body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while bodyLines.last?.isEmpty == true { bodyLines.removeLast() }
        let message = headers.joined(separator: "\n") + "\n\n" + bodyLines.joined(separator: "\n") + "\n"
        for line in message.split(separator: "\n", omittingEmptySubsequences: false)
        where line.utf8.count > maximumLineLength {
            throw AuthorityError(.mail, "an email line would exceed \(maximumLineLength) bytes")
        }
        return message
    }

    /// The template `mail/KIND.LANG.txt`: first line `Subject: …`, then a blank line, then the body.
    static func template(_ kind: MailKind, _ language: Language) throws(AuthorityError) -> (subject: String, body: String) {
        guard let data = ParapheResources.data("mail", "\(kind.rawValue).\(language.rawValue).txt") else {
            throw AuthorityError(.mail, "the \(kind.rawValue) mail template for \(language.rawValue) is missing")
        }
        let text = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, first.hasPrefix("Subject:") else {
            throw AuthorityError(.mail, "the \(kind.rawValue) mail template for \(language.rawValue) has no Subject line")
        }
        let subject = first.dropFirst("Subject:".count).trimmingCharacters(in: .whitespaces)
        lines.removeFirst()
        if lines.first?.isEmpty == true { lines.removeFirst() }
        return (subject, lines.joined(separator: "\n"))
    }

    /// Replaces each `{key}` in one pass, so a value that itself contains `{…}` is never expanded.
    static func fill(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            let afterOpen = rest.index(after: open)
            if let close = rest[afterOpen...].firstIndex(of: "}"), let value = values[String(rest[afterOpen..<close])] {
                out += value
                rest = rest[rest.index(after: close)...]
            } else {
                out += "{"
                rest = rest[afterOpen...]
            }
        }
        return out + rest
    }

    /// `"Name" <email>`, or an RFC 2047 encoded-word display name when the name is not ASCII.
    static func mailbox(name: String, email: String) -> String {
        if name.unicodeScalars.allSatisfy({ $0.isASCII }) {
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\" <\(email)>"
        }
        return "\(encodedWords(name, firstLinePrefix: "To: ".utf8.count)) <\(email)>"
    }

    /// Header text as is when ASCII, else RFC 2047 `=?UTF-8?B?…?=` words, folded.
    static func encodedHeaderText(_ text: String, firstLinePrefix: Int) -> String {
        if text.unicodeScalars.allSatisfy({ $0.isASCII }) { return text }
        return encodedWords(text, firstLinePrefix: firstLinePrefix)
    }

    /// Splits `text` on character boundaries into RFC 2047 encoded-words, joined by folding white space.
    ///
    /// Each header line stays within 76 characters; `firstLinePrefix` is the length of what precedes the first word
    /// on its line (`Subject: `).
    static func encodedWords(_ text: String, firstLinePrefix: Int) -> String {
        // A word is 12 characters of `=?UTF-8?B??=` plus 4 base64 characters per 3 bytes.
        func capacity(_ prefix: Int) -> Int { max(3, 3 * ((76 - 12 - prefix) / 4)) }
        var words: [String] = []
        var chunk: [UInt8] = []
        var limit = capacity(firstLinePrefix)
        for character in text {
            let bytes = Array(String(character).utf8)
            if !chunk.isEmpty, chunk.count + bytes.count > limit {
                words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
                limit = capacity(1)
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words.joined(separator: "\n ")
    }

    /// `Tue, 10 Nov 2026 14:03:00 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        UTCDateTime(date).rfc5322
    }
}
