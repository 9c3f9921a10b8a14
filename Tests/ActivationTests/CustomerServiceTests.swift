import Activation
import Testing

/// The customer service a message sends the person to: checked like anything from outside, and named in the texts that
/// send people there, in their language.
struct CustomerServiceTests {
    let service = CustomerService(
        en: .init(name: "CA Support", phone: "+1 514 555-0199", email: "support@ca.example", web: "https://ca.example/help", hours: "Mon–Fri 8–18"),
        fr: .init(name: "Soutien de l’AC", web: "https://ca.example/aide"))

    @Test func theFrenchContactTakesWhatItLacksFromTheEnglishOne() throws {
        let french = service.contact(.fr)
        #expect(french.name == "Soutien de l’AC" && french.web == "https://ca.example/aide")
        #expect(french.phone == "+1 514 555-0199" && french.email == "support@ca.example" && french.hours == "Mon–Fri 8–18")
        #expect(try service.validated() == service)
    }

    @Test func whatCannotBeShownSafelyIsRefusedWithTheFieldItIsIn() {
        func problem(_ contact: CustomerService.Contact, fr: CustomerService.Contact = .init()) -> String? {
            do {
                _ = try CustomerService(en: contact, fr: fr).validated()
                return nil
            } catch {
                return error.field
            }
        }
        #expect(problem(.init(phone: "+1 555\u{1B}[2J")) == "phone")
        #expect(problem(.init(phone: "1", hours: "Mon\u{202E}Fri")) == "hours")
        #expect(problem(.init(email: "not an address")) == "email")
        #expect(problem(.init(web: "javascript:alert(1)")) == "web")
        #expect(problem(.init(web: "https://a.example/with space")) == "web")
        #expect(problem(.init(name: String(repeating: "n", count: 81), phone: "1")) == "name")
        #expect(problem(.init(phone: "   ")) == "phone")
        #expect(problem(.init(phone: "1"), fr: .init(web: "ftp://x.example")) == "fr.web")
        // A name and hours alone give no way to reach anyone.
        #expect(problem(.init(name: "Help", hours: "Always")) == "phone")
        #expect(problem(.init(phone: "  +1 514 555-0199 ")) == nil)
        #expect((try? CustomerService(en: .init(phone: "  +1 514 555-0199 ")).validated())?.en.phone == "+1 514 555-0199")
    }

    @Test func aMessageThatSendsThePersonToCustomerServiceNamesItInTheirLanguage() {
        let english = Localizer(.en, customerService: service)
        let locked = english.text("error.identityLocked")
        #expect(
            locked.hasSuffix("Customer Service can help. CA Support: +1 514 555-0199, support@ca.example, https://ca.example/help; Mon–Fri 8–18."))
        let french = Localizer(.fr, customerService: service).text("error.alreadyActivated")
        #expect(french.hasSuffix("Soutien de l’AC : +1 514 555-0199, support@ca.example, https://ca.example/aide ; Mon–Fri 8–18."), "\(french)")
        // None known: the sentence ends where it always did; and a text that sends nobody there is unchanged.
        #expect(Localizer(.en).text("error.identityLocked").hasSuffix("Customer Service can help."))
        #expect(english.text("error.codesUsed") == Localizer(.en).text("error.codesUsed"))
        #expect(english.mentionsCustomerService("error.alreadyActivated") && english.mentionsCustomerService("cli.error.unexpected"))
        #expect(!english.mentionsCustomerService("error.codesUsed"))
        #expect(english.withoutContact.text("error.revoked") == Localizer(.en).text("error.revoked"))
    }

    @Test func aValueThatHoldsThePlaceholderIsNeverExpanded() {
        let english = Localizer(.en, customerService: service)
        let text = english.text("cli.error.cannotRead", ["path": "/tmp/{customerService}"])
        #expect(text.contains("/tmp/{customerService}") && !text.contains("CA Support"), "\(text)")
    }

    @Test func theContactAsLinesIsLabelledInTheReadersLanguage() {
        #expect(
            Localizer(.fr, customerService: service).contactLines(service) == [
                "Soutien de l’AC", "Téléphone : +1 514 555-0199", "Courriel : support@ca.example", "Site Web : https://ca.example/aide",
                "Heures : Mon–Fri 8–18",
            ])
        let bare = CustomerService(en: .init(email: "help@ca.example"))
        #expect(Localizer(.en).contactLines(bare) == ["Customer Service", "Email: help@ca.example"])
        #expect(Localizer(.en).contactSentence(bare) == "Customer Service: help@ca.example.")
    }
}
