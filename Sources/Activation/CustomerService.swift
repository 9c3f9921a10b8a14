/// Who the person calls when a message sends them to customer service: the certification authority's contact (its
/// configuration, published at `GET /api/v1/about` and in its mail), or a kiosk's local help desk (`[customer_service]`
/// in the workstation's configuration), in both languages.
///
/// Every field is optional; the French contact takes each field it lacks from the English one. What comes from a file or
/// from the network is checked by `validated()` before anything shows it.
public struct CustomerService: Equatable, Sendable, Codable {
    /// One language's contact.
    public struct Contact: Equatable, Sendable, Codable {
        /// How the service is called ("Paraphe Customer Service"); the texts' own name when absent.
        public var name: String?
        public var phone: String?
        public var email: String?
        /// A web page (`https://…` or `http://…`).
        public var web: String?
        /// When someone answers, as the service writes it (`Monday to Friday, 8 to 6 Eastern Time`).
        public var hours: String?

        public init(name: String? = nil, phone: String? = nil, email: String? = nil, web: String? = nil, hours: String? = nil) {
            self.name = name
            self.phone = phone
            self.email = email
            self.web = web
            self.hours = hours
        }

        /// Nothing to reach the service by (a name and hours alone do not count).
        public var isEmpty: Bool { phone == nil && email == nil && web == nil }

        /// Each field this one lacks taken from `other`.
        func filled(from other: Contact) -> Contact {
            Contact(
                name: name ?? other.name, phone: phone ?? other.phone, email: email ?? other.email, web: web ?? other.web,
                hours: hours ?? other.hours)
        }
    }

    /// A field that cannot be shown, and why.
    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        /// `name`, `phone`, `email`, `web` or `hours`, after `fr.` for the French contact.
        public let field: String
        public let why: String

        public var description: String { "customer service \(field): \(why)" }
    }

    /// The longest each field may be, in characters.
    public static let limits: [String: Int] = ["name": 80, "phone": 40, "email": 254, "web": 200, "hours": 160]

    public var en: Contact
    public var fr: Contact

    /// `fr` takes each field it lacks from `en`.
    public init(en: Contact, fr: Contact = Contact()) {
        self.en = en
        self.fr = fr.filled(from: en)
    }

    /// The contact in `language`.
    public func contact(_ language: Language) -> Contact { language == .en ? en : fr }

    /// Checked for display: each field trimmed, within its limit, free of control characters and bidirectional
    /// overrides; an email that looks like one, a web page that is `https://` or `http://`; and some way to reach the
    /// service (a phone, an email or a web page) in both languages.
    public func validated() throws(Problem) -> CustomerService {
        var checked = CustomerService(en: try Self.validated(en, prefix: ""), fr: try Self.validated(fr, prefix: "fr."))
        checked.fr = checked.fr.filled(from: checked.en)
        guard !checked.en.isEmpty else { throw Problem(field: "phone", why: "give a phone, an email or a web page") }
        return checked
    }

    private static func validated(_ contact: Contact, prefix: String) throws(Problem) -> Contact {
        func check(_ value: String?, _ field: String) throws(Problem) -> String? {
            guard let value else { return nil }
            let limit = limits[field] ?? 80
            guard value.unicodeScalars.count <= limit * 4 else { throw Problem(field: prefix + field, why: "longer than \(limit) characters") }
            let trimmed = InputText.trimBlanks(value)
            guard !trimmed.isEmpty else { throw Problem(field: prefix + field, why: "empty") }
            guard trimmed.count <= limit else { throw Problem(field: prefix + field, why: "longer than \(limit) characters") }
            guard !trimmed.unicodeScalars.contains(where: { InputText.isControl($0) || InputText.isBidiControl($0) }) else {
                throw Problem(field: prefix + field, why: "control characters are not allowed")
            }
            return trimmed
        }
        let email = try check(contact.email, "email")
        if let email, !Subscriber.looksLikeEmail(email) { throw Problem(field: prefix + "email", why: "not an email address") }
        let web = try check(contact.web, "web")
        if let web {
            let lower = web.lowercased()
            guard lower.hasPrefix("https://") || lower.hasPrefix("http://"), web.count > 8, !web.contains(" ") else {
                throw Problem(field: prefix + "web", why: "a web page starts with https:// (or http://) and has no spaces")
            }
        }
        return Contact(
            name: try check(contact.name, "name"), phone: try check(contact.phone, "phone"), email: email, web: web,
            hours: try check(contact.hours, "hours"))
    }
}

extension Localizer {
    /// Whether the text of `key` sends the person to customer service (it ends with `{customerService}`, where the
    /// contact's sentence goes when one is known).
    public func mentionsCustomerService(_ key: String) -> Bool { rawText(key).contains("{customerService}") }

    /// The contact in one sentence, its ways to reach it, then its hours.
    ///
    /// `Paraphe Customer Service: +1 514 555-0199, support@ca.example; Monday to Friday.`
    public func contactSentence(_ service: CustomerService) -> String {
        let contact = service.contact(language)
        let reach = [contact.phone, contact.email, contact.web].compactMap { $0 }.joined(separator: ", ")
        let name = contact.name ?? text("customerService.defaultName")
        if let hours = contact.hours { return text("customerService.sentenceHours", ["name": name, "reach": reach, "hours": hours]) }
        return text("customerService.sentence", ["name": name, "reach": reach])
    }

    /// The contact as lines: its name, then each way to reach it and its hours, labelled (`Phone: …`).
    public func contactLines(_ service: CustomerService) -> [String] {
        let contact = service.contact(language)
        var lines = [contact.name ?? text("customerService.defaultName")]
        for (key, value) in [("phone", contact.phone), ("email", contact.email), ("web", contact.web), ("hours", contact.hours)] {
            if let value { lines.append(text("customerService.label", ["label": text("customerService.\(key)"), "value": value])) }
        }
        return lines
    }
}
