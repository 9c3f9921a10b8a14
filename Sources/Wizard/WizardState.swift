import Activation
import AuthorityInterface
import Foundation
import ScreenModel

/// The five steps of SPEC §2.
public enum WizardStep: Int, CaseIterable, Sendable, Comparable {
    case link = 1
    case identity, components, renewal, activation

    public var titleKey: String { "step.\(rawValue).title" }
    public var shortKey: String { "step.\(rawValue).short" }

    public static func < (lhs: WizardStep, rhs: WizardStep) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The text fields of the wizard.
public enum FieldID: String, CaseIterable, Sendable {
    case link, answer1, answer2, answer3, reference, password, confirmation, loginPassword, recoveryEmail

    /// The kind of text the field takes (its limit, its checks, its name in messages).
    public var inputField: InputField {
        switch self {
        case .link: .link
        case .recoveryEmail: .email
        case .answer1, .answer2, .answer3: .answer
        case .reference: .reference
        case .password, .confirmation, .loginPassword: .password
        }
    }

    /// The most characters the field takes.
    public var limit: Int { inputField.limit }

    /// Passwords are always shown as bullets.
    public var isPassword: Bool { self == .password || self == .confirmation || self == .loginPassword }
    /// Answers are secrets too: shown only while their field has focus (and not even then when hidden).
    public var isAnswer: Bool { self == .answer1 || self == .answer2 || self == .answer3 }

    public static let answers: [FieldID] = [.answer1, .answer2, .answer3]
}

/// The buttons of the wizard.
public enum ButtonID: String, Sendable, CaseIterable {
    case next, install, recheck, renew, activate, finishParked, login, finish, recover, sendRecovery, update, trustAuthority
}

/// Everything that can hold focus.
public enum Control: Hashable, Sendable {
    case field(FieldID)
    case button(ButtonID)
    /// The "hide answers" check box of step 2.
    case hideAnswers
    /// The log-in screen's "Make my digital signature available to the applications of this workstation".
    case installProvider
    /// The key-type selector of step 5.
    case keyChoice
}

/// One editable line of text.
///
/// `cursor` counts characters.
public struct TextField: Equatable, Sendable {
    public private(set) var text: String = ""
    public private(set) var cursor: Int = 0
    public let limit: Int

    public init(limit: Int, text: String = "") {
        self.limit = limit
        self.text = String(text.prefix(limit))
        cursor = self.text.count
    }

    /// Inserts typed or pasted text at the cursor: controls and escape sequences dropped, cut at
    /// the limit.
    ///
    /// Returns true if something had to be cut.
    @discardableResult
    public mutating func insert(_ raw: String) -> Bool {
        let room = limit - text.count
        let cleaned = InputText.clean(raw, limit: max(0, room))
        guard !cleaned.text.isEmpty else { return cleaned.truncated || (room <= 0 && !raw.isEmpty) }
        let index = text.index(text.startIndex, offsetBy: cursor)
        // Combining marks join the character before them: count what the text before the cursor
        // became, not what was inserted (else the cursor runs past the end).
        let before = String(text[..<index]) + cleaned.text
        text.insert(contentsOf: cleaned.text, at: index)
        cursor = min(text.count, before.count)
        return cleaned.truncated
    }

    public mutating func backspace() {
        guard cursor > 0 else { return }
        let index = text.index(text.startIndex, offsetBy: cursor - 1)
        text.remove(at: index)
        cursor -= 1
    }

    public mutating func deleteForward() {
        guard cursor < text.count else { return }
        text.remove(at: text.index(text.startIndex, offsetBy: cursor))
    }

    public mutating func moveLeft() { cursor = max(0, cursor - 1) }
    public mutating func moveRight() { cursor = min(text.count, cursor + 1) }
    public mutating func moveHome() { cursor = 0 }
    public mutating func moveEnd() { cursor = text.count }

    /// Empties the field.
    public mutating func wipe() {
        text = ""
        cursor = 0
    }
}

/// A message on the screen, kept as a key so F2 re-renders it in the other language.
public struct Notice: Equatable, Sendable {
    public enum Tone: Sendable, Equatable { case error, info, success }
    public enum Content: Equatable, Sendable {
        /// A rule of the authority refused.
        case activation(ActivationError)
        /// What the wizard itself says.
        case wizard(WizardMessage)
        /// Another failure, as the message key and arguments its error type maps it to.
        case text(key: String, arguments: [String: String])
    }

    public var tone: Tone
    public var content: Content
    /// A failure that retrying may cure (the step's button then reads Retry): set from `Failure.isRetryable`.
    public var offersRetry = false

    public init(_ tone: Tone, _ content: Content) {
        self.tone = tone
        self.content = content
    }

    public static func error(_ error: ActivationError) -> Notice { Notice(.error, .activation(error)) }
    /// A failure that is neither a refusal nor the wizard's own: its error type's message key.
    public static func error(_ key: String, _ arguments: [String: String] = [:]) -> Notice { Notice(.error, .text(key: key, arguments: arguments)) }
    /// What the wizard says, in the tone the message has.
    public static func message(_ message: WizardMessage) -> Notice { Notice(message.tone, .wizard(message)) }

    /// The key of its text in the string tables.
    public var messageKey: String {
        switch content {
        case .activation(let error): error.messageKey
        case .wizard(let message): message.messageKey
        case .text(let key, _): key
        }
    }

    /// The text, in `text`'s language.
    public func text(_ text: Localizer) -> String {
        switch content {
        case .activation(let error): return error.message(text)
        case .wizard(let message):
            return text.text(message.messageKey, message.arguments.merging(message.dates.mapValues { text.dateTime($0) }) { text, _ in text })
        case .text(let key, let arguments): return text.text(key, arguments)
        }
    }
}

/// What the wizard itself says on its message line (not a failure from elsewhere); each message maps to its tone and
/// its text in one exhaustive switch, and the renderer chooses the words.
public enum WizardMessage: Equatable, Sendable {
    // Step 1
    case recoveryIntro, recoveryEmailInvalid, recoverySent, confirmAuthority, finishParked, profileWrittenEarlier
    case attemptsRemaining(Int)
    // Step 2
    case answerAll
    // Step 3
    case componentsReady, componentsInstall, componentsNotReady, profileFolderUnavailable
    case componentBroken(ComponentKind)
    case codesValid(until: Date)
    // Step 4
    case renewFirst
    case renewed(email: String)
    case useNewReference(email: String)
    // Step 5
    case passwordNotReady, enterPassword, profileWritten, activated
    case updateDue(until: Date)
    case updated(until: Date)
    // Anywhere
    case invalidText, cannotGoBack, quitAfterWork
    case truncated(limit: Int)
    case confirmQuitLogin(profile: String)

    public var tone: Notice.Tone {
        switch self {
        case .recoveryEmailInvalid, .answerAll, .componentsNotReady, .profileFolderUnavailable, .componentBroken, .renewFirst, .passwordNotReady,
            .enterPassword:
            return .error
        case .recoveryIntro, .confirmAuthority, .finishParked, .profileWrittenEarlier, .attemptsRemaining, .componentsInstall, .codesValid,
            .useNewReference, .updateDue, .invalidText, .cannotGoBack, .quitAfterWork, .truncated, .confirmQuitLogin:
            return .info
        case .recoverySent, .componentsReady, .renewed, .profileWritten, .activated, .updated:
            return .success
        }
    }

    public var messageKey: String {
        switch self {
        case .recoveryIntro: "notice.recoveryIntro"
        case .recoveryEmailInvalid: "notice.recoveryEmailInvalid"
        case .recoverySent: "recovery.sent"
        case .confirmAuthority: "notice.confirmAuthority"
        case .finishParked: "notice.finishParked"
        case .profileWrittenEarlier: "notice.profileWrittenEarlier"
        case .attemptsRemaining: "notice.attemptsRemaining"
        case .answerAll: "notice.answerAll"
        case .componentsReady: "notice.componentsReady"
        case .componentsInstall: "notice.componentsInstall"
        case .componentsNotReady: "notice.componentsNotReady"
        case .profileFolderUnavailable: "notice.profileFolderUnavailable"
        case .componentBroken: "notice.componentBroken"
        case .codesValid: "notice.codesValid"
        case .renewed: "notice.renewed"
        case .useNewReference: "notice.useNewReference"
        case .renewFirst: "notice.renewFirst"
        case .passwordNotReady: "notice.passwordNotReady"
        case .enterPassword: "notice.enterPassword"
        case .profileWritten: "notice.profileWritten"
        case .activated: "notice.activated"
        case .updateDue: "notice.updateDue"
        case .updated: "notice.updated"
        case .invalidText: "notice.invalidText"
        case .cannotGoBack: "notice.cannotGoBack"
        case .quitAfterWork: "notice.quitAfterWork"
        case .truncated: "notice.truncated"
        case .confirmQuitLogin: "notice.confirmQuitLogin"
        }
    }

    public var arguments: [String: String] {
        switch self {
        case .attemptsRemaining(let remaining): ["remaining": String(remaining)]
        case .componentBroken(let kind): ["component": kind.rawValue]
        case .renewed(let email), .useNewReference(let email): ["email": email]
        case .truncated(let limit): ["limit": String(limit)]
        case .confirmQuitLogin(let profile): ["path": profile]
        default: [:]
        }
    }

    /// Dates, formatted when the text is shown (so F2 writes them the other language's way).
    public var dates: [String: Date] {
        switch self {
        case .codesValid(let date), .updateDue(let date), .updated(let date): ["date": date]
        default: [:]
        }
    }
}

/// What the wizard is waiting for.
public enum Work: Equatable, Sendable {
    case lookingUp, verifying, checkingComponents, installing, renewing
    case activating(ActivationProgress)
    case loggingIn, requestingRecovery, updating
    case trustingAuthority

    public var messageKey: String {
        switch self {
        case .lookingUp: "work.lookingUp"
        case .verifying: "work.verifying"
        case .checkingComponents: "work.checkingComponents"
        case .installing: "work.installing"
        case .renewing: "work.renewing"
        case .activating(let progress): progress.messageKey
        case .loggingIn: "progress.loggingIn"
        case .requestingRecovery: "work.requestingRecovery"
        case .updating: "work.updating"
        case .trustingAuthority: "work.lookingUp"
        }
    }
}

/// Where step 5 stands.
public enum ActivationStage: Equatable, Sendable {
    /// Reference number and password.
    case form
    /// An activation interrupted on this workstation: its password finishes it.
    case finishParked
    /// The profile is written: log in to it.
    case login
    /// Done: the summary.
    case summary
}

/// The kiosk's warning before it wipes everything: seconds left, and why.
public struct Countdown: Equatable, Sendable {
    public enum Reason: Equatable, Sendable {
        /// Nobody pressed a key for a while: any key cancels the countdown.
        case idle
        /// The summary of a finished activation makes room for the next person (Enter: at once).
        case summary
    }

    public var reason: Reason
    /// Whole seconds left, rounded up (never 0 while shown).
    public var seconds: Int

    public init(_ reason: Reason, seconds: Int) {
        self.reason = reason
        self.seconds = seconds
    }

    public var messageKey: String { reason == .idle ? "kiosk.countdown" : "kiosk.summaryCountdown" }
}

/// The whole state of the wizard.
///
/// Equatable, so tests assert all of it after each event.
public struct WizardState: Equatable, Sendable {
    public var language: Language
    /// The language was chosen (by `--lang` or F2): the application's language does not override it.
    public var languageChosen: Bool
    public var step: WizardStep = .link
    /// Step 1 shows "Recover my digital signature" (an email address) instead of the link.
    public var recoveryForm = false
    /// Step 1 asks the person to compare this fingerprint (the SHA-256 of the CA a networked authority offers, which
    /// nothing pins yet) with the one their certification authority published, before anything is sent to it.
    public var authorityToConfirm: String?
    /// The log-in password, kept (never shown) only while the summary offers to update a profile near expiry.
    public var updatePassword: Password?
    public var activationStage: ActivationStage = .form
    public var fields: [FieldID: TextField]
    public var focus: Control = .field(.link)
    public var notice: Notice?
    /// Work in flight; keys that would change data are ignored meanwhile.
    public var work: Work?
    public var showHelp = false
    public var hideAnswers = false
    /// The log-in screen offers to make the signature available to the workstation's applications (not in kiosk
    /// mode, and only where the security provider is installed); `installProvider` is the person's choice (on by default).
    public var offerProvider = false
    public var installProvider = true
    public var keyChoice: KeyAlgorithm = .default
    /// The application cannot go on (locked, activated, revoked): only quitting (or a new link at step 1) remains.
    public var dead = false
    public var token: ApplicationToken?
    public var overview: ApplicationOverview?
    public var identity: IdentityVerification?
    public var components: [ComponentReport] = []
    public var renewal: RenewalReceipt?
    public var passwordCheck: PasswordCheck?
    /// How many times the password or its confirmation changed (a dictionary verdict for an older one is dropped).
    public var passwordEdits = 0
    /// The edit whose dictionary rule was asked for (`checkPasswordDictionary`), if any.
    public var dictionaryCheckAsked: Int?
    public var profileFile: URL?
    public var summary: ActivationSummary?
    public var width: Int
    public var height: Int
    public var kiosk: Bool
    /// Kiosk mode: seconds without a key before everything is wiped for the next person.
    public var idleTimeout: TimeInterval
    /// The language the wizard started in (a kiosk reset returns to it).
    public let initialLanguage: Language
    /// Whether that language was chosen (`--lang`), so the application's language does not override it.
    public let initialLanguageChosen: Bool
    /// Kiosk mode: when the idle time started (the last key, the end of the last work, or the summary
    /// appearing), as told by the latest `.tick`; nil means "just now": the next tick stamps it.
    public var lastActivity: Date?
    /// Kiosk mode: the countdown shown before a reset, if one is running.
    public var countdown: Countdown?
    /// Keys and text typed while the terminal was too small, applied once it is big enough again.
    public var heldInput: [WizardEvent] = []
    /// How the wizard ended; the program loop stops once this is set.
    public var ending: Ending?
    /// An end asked for while the profile was being written or opened: it comes as soon as that work is over.
    public var endAfterWork: Ending?
    /// `paraphe demo`: the crib line its screens show (nil otherwise).
    public var demo: DemoHints?
    /// What the commands the screens suggest must carry (the data directory and profile folder in use).
    public var commandOptions = CommandOptions()
    /// Whom the messages that send the person to customer service name; nil: none known.
    ///
    /// The kiosk's help desk or the authority's customer service. F1 shows it, and so does a message that sends the
    /// person there.
    public var customerService: CustomerService?
    /// F10 came at the log-in screen: a second F10 quits (the message says how to finish later).
    public var confirmingQuit = false

    /// The smallest terminal the wizard draws in.
    public static let minimumWidth = 80
    public static let minimumHeight = 24
    /// The kiosk's default idle timeout, in seconds.
    public static let defaultIdleTimeout: TimeInterval = 120
    /// The idle timeouts a kiosk may be given (`--idle-timeout`, `[kiosk] idle_timeout`), in seconds.
    public static let idleTimeoutRange = 5...86_400

    public init(
        language: Language, languageChosen: Bool = false, width: Int = 80, height: Int = 24, kiosk: Bool = false,
        idleTimeout: TimeInterval = WizardState.defaultIdleTimeout
    ) {
        self.language = language
        self.languageChosen = languageChosen
        self.width = width
        self.height = height
        self.kiosk = kiosk
        self.idleTimeout = idleTimeout
        initialLanguage = language
        initialLanguageChosen = languageChosen
        fields = Dictionary(uniqueKeysWithValues: FieldID.allCases.map { ($0, TextField(limit: $0.limit)) })
    }

    /// The password's dictionary rule waits for typing to pause: the loop sends `typingPaused` after
    /// `WizardState.typingPause` without a key.
    public var passwordCheckPending: Bool { passwordCheck?.dictionaryPending == true && dictionaryCheckAsked != passwordEdits }

    /// How long without a key counts as a pause in typing.
    public static let typingPause: Duration = .milliseconds(300)

    /// The texts in the screen's language, with the commands they suggest carrying this program's options and the
    /// customer service they name.
    public var localizer: Localizer { Localizer(language, commandOptions: commandOptions, customerService: customerService) }

    public var isTooSmall: Bool { width < Self.minimumWidth || height < Self.minimumHeight }

    /// Between "Download and Activate" and the end of the log-in: the codes may be spent and the
    /// profile not yet written or not yet opened.
    ///
    /// Quitting waits or asks; the kiosk never resets.
    public var isCritical: Bool {
        switch work {
        case .activating, .loggingIn: return true
        default: return step == .activation && activationStage == .login
        }
    }

    public func field(_ id: FieldID) -> TextField { fields[id] ?? TextField(limit: id.limit) }
}

/// How the wizard ended.
public enum Ending: Equatable, Sendable {
    /// The person quit (F10, Ctrl-C, or Enter on the summary).
    case quit
    /// A signal asked the program to end.
    case signal(ProgramSignal)
    /// Input ended: standard input closed, or the terminal went away.
    case inputEnded
}

/// A signal that asks the program to end, as the loop receives it (POSIX numbers).
public enum ProgramSignal: Int32, Equatable, Sendable {
    case hangUp = 1
    case interrupt = 2
    case terminate = 15
}

/// What the screens of `paraphe demo` show so that nothing else is needed.
public struct DemoHints: Equatable, Sendable {
    /// The answers to the security questions.
    public var answers: [String]
    /// The reference number of the newest code email (after a renewal, the new one).
    public var reference: String

    public init(answers: [String], reference: String) {
        self.answers = answers
        self.reference = reference
    }
}
