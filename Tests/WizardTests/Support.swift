import AuthorityInterface
import Foundation
import PasswordQuality
import ScreenModel
import Testing
import WizardRendering

@testable import Activation
@testable import Wizard

// MARK: - Fixtures (fixed values only: no clock, no randomness)

/// The values the tests feed the wizard, as the effects would bring them back.
enum Fixture {
    /// A certification authority's customer service, in both languages.
    static let customerService = CustomerService(
        en: .init(
            name: "Paraphe Customer Service", phone: "+1 514 555-0199", email: "support@paraphe.example", web: "https://paraphe.example/support",
            hours: "Monday to Friday, 8 a.m. to 6 p.m. Eastern Time"),
        fr: .init(
            name: "Service à la clientèle de Paraphe", web: "https://paraphe.example/fr/soutien",
            hours: "Du lundi au vendredi, de 8 h à 18 h, heure de l’Est"))
    static let token = ApplicationToken(validated: "7K2MQ9XD4HPAVT3R")
    static let link = "https://activation.paraphe.example/activate/7K2M-Q9XD-4HPA-VT3R"
    /// A CA certificate's SHA-256 fingerprint, as the service shows it.
    static let fingerprint = "51:7D:0E:9A:3C:44:B1:28:6F:E2:07:95:AC:31:D8:5B:C0:19:77:E4:2A:8F:63:B5:0D:9C:F1:46:2E:83:3C:C6"
    /// 482-157-304: a valid Damm check digit.
    static let reference = ReferenceNumber(validated: "482157304")
    /// The same number with its last two digits swapped: the check digit catches it.
    static let referenceTypo = "482-157-340"
    static let authorization = AuthorizationCode("AB12CD34EF56GH78")
    static let renewedAuthorization = AuthorizationCode("ZZ98YY76XX54WW32")
    static let subscriber = Subscriber(name: "Jeanne Tremblay", email: "jeanne.tremblay@example.com", language: .fr)
    static let password = "Vert-Orage-Piano-47"

    /// 2026-11-10 09:00 UTC: first codes issued.
    static let issuedAt = Date(timeIntervalSince1970: 1_794_301_200)
    /// 2026-11-25 09:00 UTC: they expire 15 days later.
    static let expiresAt = Date(timeIntervalSince1970: 1_795_597_200)
    /// 2026-12-01 14:30 UTC: a renewal.
    static let renewedAt = Date(timeIntervalSince1970: 1_796_135_400)
    /// 2026-12-16 14:30 UTC.
    static let renewedExpiresAt = Date(timeIntervalSince1970: 1_797_431_400)
    /// 2026-12-02 10:00 UTC → 2029-12-02 10:00 UTC: the certificate.
    static let notBefore = Date(timeIntervalSince1970: 1_796_205_600)
    static let notAfter = Date(timeIntervalSince1970: 1_890_900_000)
    /// 2026-12-02 08:15 UTC: when the renewal limit lifts.
    static let nextRenewal = Date(timeIntervalSince1970: 1_796_199_300)

    static let profileFile = URL(fileURLWithPath: "/home/jeanne/.local/share/paraphe/profiles/Jeanne_Tremblay.p12")
    static let certificateFile = URL(fileURLWithPath: "/home/jeanne/.local/share/paraphe/profiles/Jeanne_Tremblay.pem")

    static func questions(_ language: Language) -> [String] {
        switch language {
        case .en: ["What was the name of your first pet?", "In which city was your mother born?", "What was the make of your first car?"]
        case .fr:
            [
                "Quel était le nom de votre premier animal ?", "Dans quelle ville votre mère est-elle née ?",
                "Quelle était la marque de votre première voiture ?",
            ]
        }
    }

    static func overview(language: Language = .fr, status: ApplicationStatus = .approved, remaining: Int = 5, questions: [String]? = nil)
        -> ApplicationOverview
    {
        ApplicationOverview(
            token: token, status: status, language: language, questions: questions ?? Self.questions(language),
            identityAttemptsRemaining: remaining)
    }

    static func identity(expired: Bool = false) -> IdentityVerification {
        IdentityVerification(
            subscriber: subscriber, authorization: authorization, codesIssuedAt: issuedAt, codesExpireAt: expiresAt,
            renewalNeeded: expired, renewalReason: expired ? ActivationError(.codesExpired(expiredAt: expiresAt)) : nil)
    }

    static let receipt = RenewalReceipt(
        authorization: renewedAuthorization, issuedAt: renewedAt, expiresAt: renewedExpiresAt,
        maskedEmail: "j•••@example.com", mailFile: URL(fileURLWithPath: "/tmp/mail/new/1.eml"))

    static let managerMissing = ComponentReport(
        kind: .activationManager, status: .missing(reason: "component.reason.noProfileStore"), installable: true)
    static let managerInstalled = ComponentReport(
        kind: .activationManager, status: .installed(version: "Paraphe Activation Manager 1.0"), installable: true)
    /// Kiosk `--profile-dir` on a removable medium that is not plugged in.
    static let profileFolderMissing = ComponentReport(
        kind: .activationManager, status: .failed(reason: "component.reason.profileFolderMissing", detail: "/media/usb/paraphe"),
        installable: false)
    static let keystoreInstalled = ComponentReport(
        kind: .keystoreProvider, status: .installed(version: "Paraphe Keystore 1.0 (swift-crypto, PKCS#12 PBES2/AES-256-CBC)"), installable: false)
    static let keystoreFailed = ComponentReport(
        kind: .keystoreProvider, status: .failed(reason: "component.reason.selfTestFailed", detail: "signature did not verify"), installable: false)

    static let summary = ActivationSummary(
        certificate: ProfileSummary(
            subject: "CN=Jeanne Tremblay", commonName: "Jeanne Tremblay", email: "jeanne.tremblay@example.com",
            serialHex: "5A:3F:9C:1E:2B:7D:46:80:A1",
            sha256Fingerprint: (0..<32).map { String(format: "%02X", ($0 * 37 + 11) % 256) }.joined(separator: ":"),
            notBefore: notBefore, notAfter: notAfter, issuer: "CN=Paraphe Embedded CA", keyAlgorithm: .rsa2048),
        profileFile: profileFile, certificateFile: certificateFile)
}

// MARK: - The store: send an event, state the whole expected state

/// Drives the reducer like the program does and checks the whole state after each event
/// (the pattern of swift-composable-architecture's TestStore).
struct Store {
    var state: WizardState
    let environment = WizardEnvironment(passwordPolicy: PasswordPolicy(checker: PWQualityChecker()))

    init(_ state: WizardState) { self.state = state }

    init(language: Language = .en, languageChosen: Bool = false, kiosk: Bool = false) {
        state = WizardState(language: language, languageChosen: languageChosen, kiosk: kiosk)
    }

    /// Sends `event`; `update` turns the previous state into the expected one.
    ///
    /// The effects must be exactly `effects`.
    mutating func send(
        _ event: WizardEvent, effects: [WizardEffect] = [], sourceLocation: SourceLocation = #_sourceLocation,
        _ update: (inout WizardState) -> Void = { _ in }
    ) {
        var expected = state
        update(&expected)
        let actual = reduce(&state, event, environment)
        #expect(actual == effects, "effects of \(event)", sourceLocation: sourceLocation)
        if state != expected {
            Issue.record(Comment(rawValue: "state after \(event):\n" + differences(state, expected)), sourceLocation: sourceLocation)
        }
    }

    /// Sends an event without expectations (to reach a state a test starts from).
    mutating func drive(_ events: WizardEvent...) {
        for event in events { _ = reduce(&state, event, environment) }
    }

    mutating func key(
        _ key: Key, effects: [WizardEffect] = [], sourceLocation: SourceLocation = #_sourceLocation,
        _ update: (inout WizardState) -> Void = { _ in }
    ) {
        send(.key(key), effects: effects, sourceLocation: sourceLocation, update)
    }
}

/// The properties that differ, for a readable failure.
func differences(_ actual: WizardState, _ expected: WizardState) -> String {
    var lines: [String] = []
    let left = Mirror(reflecting: actual).children
    let right = Mirror(reflecting: expected).children
    for (a, b) in zip(left, right) {
        guard let label = a.label else { continue }
        if label == "fields" {
            for id in FieldID.allCases where actual.field(id) != expected.field(id) {
                lines.append("fields[\(id)]: got \(actual.field(id)), expected \(expected.field(id))")
            }
        } else if String(describing: a.value) != String(describing: b.value) {
            lines.append("\(label): got \(a.value), expected \(b.value)")
        }
    }
    return lines.isEmpty ? "states differ" : lines.joined(separator: "\n")
}

/// A field holding `text` with the cursor at its end.
func filled(_ id: FieldID, _ text: String) -> TextField { TextField(limit: id.limit, text: text) }

/// A field holding `text` with the cursor before character `cursor`.
func filled(_ id: FieldID, _ text: String, cursor: Int) -> TextField {
    var field = TextField(limit: id.limit, text: text)
    for _ in cursor..<text.count { field.moveLeft() }
    return field
}

// MARK: - Reaching each step through the reducer

/// Walks the wizard to each screen with the events the program would feed it.
enum Flow {
    /// Step 2, fresh.
    static func identity(language: Language = .en, questions: [String]? = nil, kiosk: Bool = false) -> Store {
        var store = Store(language: language, languageChosen: true, kiosk: kiosk)
        store.drive(
            .text(Fixture.link), .key(.enter),
            .lookedUp(.success(ApplicationLookup(overview: Fixture.overview(language: language, questions: questions), local: .none))))
        return store
    }

    /// Step 3, with the checks running.
    static func componentsChecking(language: Language = .en, expired: Bool = false, kiosk: Bool = false) -> Store {
        var store = identity(language: language, kiosk: kiosk)
        store.drive(
            .text("Filou"), .key(.tab), .text("Montréal"), .key(.tab), .text("Lada"), .key(.enter),
            .identityChecked(.success(Fixture.identity(expired: expired))))
        return store
    }

    /// Step 3, checks done.
    static func components(_ reports: [ComponentReport], language: Language = .en, expired: Bool = false) -> Store {
        var store = componentsChecking(language: language, expired: expired)
        store.drive(.componentsChecked(reports))
        return store
    }

    /// Step 4 (codes expired).
    static func renewal(language: Language = .en) -> Store {
        var store = components([Fixture.managerInstalled, Fixture.keystoreInstalled], language: language, expired: true)
        store.drive(.key(.enter))
        return store
    }

    /// Step 5's form (codes valid, step 4 passed straight on).
    static func activation(language: Language = .en, kiosk: Bool = false) -> Store {
        var store = componentsChecking(language: language, kiosk: kiosk)
        store.drive(.componentsChecked([Fixture.managerInstalled, Fixture.keystoreInstalled]), .key(.enter))
        return store
    }

    /// Step 5's form filled in and submitted: the activation runs.
    static func activating(language: Language = .en, kiosk: Bool = false) -> Store {
        var store = activation(language: language, kiosk: kiosk)
        store.drive(.text(Fixture.reference.formatted), .key(.tab), .text(Fixture.password), .key(.tab), .text(Fixture.password), .key(.enter))
        return store
    }

    /// Step 5, profile written: log in.
    static func login(language: Language = .en, kiosk: Bool = false) -> Store {
        var store = activating(language: language, kiosk: kiosk)
        store.drive(.activated(.success(Fixture.profileFile)))
        return store
    }

    /// Step 5, done.
    static func summary(language: Language = .en, kiosk: Bool = false) -> Store {
        var store = activation(language: language, kiosk: kiosk)
        store.drive(
            .text(Fixture.reference.formatted), .key(.tab), .text(Fixture.password), .key(.tab), .text(Fixture.password), .key(.enter),
            .activated(.success(Fixture.profileFile)), .text(Fixture.password), .key(.enter), .loggedIn(.success(Fixture.summary)))
        return store
    }
}

// MARK: - Snapshots

/// The folder of the snapshot files, beside this source file.
let snapshotDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

/// The screen as a snapshot: its text, then one line for the cursor.
func snapshotText(_ screen: Screen) -> String {
    let cursor = screen.cursor.map { "row \($0.row), column \($0.column)" } ?? "hidden"
    return screen.text + "\n" + "── cursor: \(cursor)" + "\n"
}

/// Compares `screen` with `Snapshots/NAME.txt`; with `PARAPHE_RECORD_SNAPSHOTS=1`, (re)writes the file instead.
func assertSnapshot(_ screen: Screen, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    try assertSnapshot(text: snapshotText(screen), named: name, sourceLocation: sourceLocation)
}

/// Compares `text` with `Snapshots/NAME.txt` (or records it with PARAPHE_RECORD_SNAPSHOTS=1).
func assertSnapshot(text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let file = snapshotDirectory.appendingPathComponent(name + ".txt")
    if ProcessInfo.processInfo.environment["PARAPHE_RECORD_SNAPSHOTS"] == "1" {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return
    }
    guard let recorded = try? String(contentsOf: file, encoding: .utf8) else {
        Issue.record("No snapshot \(name).txt: run with PARAPHE_RECORD_SNAPSHOTS=1 to record it", sourceLocation: sourceLocation)
        return
    }
    if recorded != text {
        let got = text.split(separator: "\n", omittingEmptySubsequences: false)
        let want = recorded.split(separator: "\n", omittingEmptySubsequences: false)
        var report: [String] = []
        for index in 0..<max(got.count, want.count) {
            let g = index < got.count ? String(got[index]) : "∅"
            let w = index < want.count ? String(want[index]) : "∅"
            if g != w { report.append("line \(index): expected |\(w)|\n            got      |\(g)|") }
        }
        let message = "Snapshot \(name) differs:\n" + report.joined(separator: "\n")
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }
}

extension Screen {
    /// The text of cells `column..<column+count` of `row` (continuation cells skipped).
    func text(row: Int, column: Int, count: Int) -> String {
        var out = ""
        for c in column..<(column + count) where !self[row, c].isContinuation { out.append(self[row, c].character) }
        return out
    }

    /// The row holding `needle`, if any.
    func row(containing needle: String) -> Int? { lines.firstIndex { $0.contains(needle) } }

    /// The column (in cells) where `needle` starts on `row`.
    func column(of needle: String, row: Int) -> Int? {
        let line = lines[row]
        guard let range = line.range(of: needle) else { return nil }
        return DisplayWidth.of(String(line[..<range.lowerBound]))
    }
}
