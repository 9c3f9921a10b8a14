import Activation
import AuthorityInterface
import Foundation
import ScreenModel

/// A result coming back from an effect: a value, or what went wrong.
public enum Outcome<Value: Equatable & Sendable>: Equatable, Sendable {
    case success(Value)
    case failure(Failure)
}

/// What can go wrong in an effect, as `reduce` decides on it: the domain's refusals and the network's failures as
/// their types, anything else as the words the person reads.
public enum Failure: Equatable, Sendable {
    /// A rule refused (wrong answers, expired codes, locked…).
    case refused(ActivationError)
    /// The authority could not be reached, or answered in a way the protocol does not allow.
    case network(AuthorityConnectionError)
    /// Any other failure (keystore, workstation files, the authority's machinery): its message key and arguments.
    case other(messageKey: String, arguments: [String: String])

    /// Whether trying the same request again may work (the step's button then reads Retry).
    public var isRetryable: Bool {
        guard case .network(let error) = self else { return false }
        switch error.code {
        case .unreachable, .timedOut, .serverFailure, .rateLimited, .malformedResponse: return true
        case .tls, .fingerprintMismatch, .notPinned: return false
        }
    }

    /// The notice that says it.
    public var notice: Notice {
        switch self {
        case .refused(let error): return .error(error)
        case .network(let error):
            var notice = Notice.error(error.messageKey, error.messageArguments)
            notice.offersRetry = isRetryable
            return notice
        case .other(let key, let arguments): return .error(key, arguments)
        }
    }
}

/// Everything that can happen to the wizard.
public enum WizardEvent: Equatable, Sendable {
    case key(Key)
    /// Text pasted or typed in one burst (goes to the focused field as data).
    case text(String)
    /// A bracketed paste: like `text`, but its line breaks are blanks (in the link field they vanish),
    /// never Enter.
    case pasted(String)
    /// Bytes that were not valid text (not UTF-8) were dropped from what was typed.
    case invalidText
    case resized(width: Int, height: Int)
    /// The time now (kiosk idle timer and countdown). Time only ever comes in as this event, so the
    /// reducer stays pure; the program sends one every few hundred milliseconds.
    case tick(Date)
    /// A signal asks the program to end; `reduce` decides when (a kiosk ignores SIGINT; a profile being written
    /// or opened is finished first).
    case signal(ProgramSignal)
    /// Input ended (standard input closed, the terminal went away): like a signal, the wizard ends once no profile
    /// is half-way.
    case inputEnded
    /// No key came for a moment while the password's dictionary rule was pending (`WizardState.passwordCheckPending`).
    case typingPaused
    /// The dictionary rule's verdict on the password as it was at edit `edit` (`WizardState.passwordEdits`).
    case passwordDictionaryChecked(edit: Int, common: Bool)
    /// `paraphe demo`: a code email brought a new reference number (after a renewal).
    case demoReference(String)
    /// The authority (once vouched for) named its customer service, or the configuration names a local help desk.
    case customerServiceKnown(CustomerService)
    /// Moves focus to a control of the current screen (ignored if the screen has no such control).
    /// Front ends without Tab (plain mode) use it to reach a field or button directly.
    case focus(Control)
    case lookedUp(Outcome<ApplicationLookup>)
    /// The link or the recovery address was not sent: the authority is not pinned; the person must confirm the
    /// fingerprint of the CA it offers (only that CA was fetched).
    case authorityUnconfirmed(fingerprint: String)
    /// The person's confirmation of the authority was recorded.
    case authorityTrusted(Outcome<Bool>)
    /// The recovery request went (the answer says nothing of the address).
    case recoveryRequested(Outcome<Bool>)
    case identityChecked(Outcome<IdentityVerification>)
    case componentsChecked([ComponentReport])
    case activationManagerInstalled(Outcome<Bool>)
    case renewed(Outcome<RenewalReceipt>)
    case progressed(ActivationProgress)
    /// The profile was written (its .p12 file); next the person logs in to it.
    case activated(Outcome<URL>)
    case loggedIn(Outcome<ActivationSummary>)
    /// The profile holds a new key and certificate (the previous file is kept beside it).
    case profileUpdated(Outcome<ActivationSummary>)
}

/// Side effects the wizard asks for; the program runs them and feeds the results back as events.
public enum WizardEffect: Equatable, Sendable {
    case lookUp(ApplicationToken)
    /// The person compared the authority's fingerprint and trusts it.
    case trustAuthority(fingerprint: String)
    case requestRecovery(email: String)
    case verifyIdentity(ApplicationToken, [SecurityAnswer])
    case checkComponents
    case installActivationManager
    case renewCodes(ApplicationToken, AuthorizationCode)
    case activate(ActivationRequest)
    /// Finish the activation parked on this workstation with the password it was sealed under.
    case finishParked(ApplicationToken, Password)
    /// `installProvider`: then make the profile available to the workstation's applications (the security provider).
    case logIn(profile: URL, password: Password, installProvider: Bool)
    case updateProfile(profile: URL, password: Password)
    /// The password's dictionary rule (cracklib, a fraction of a millisecond: off the loop, so no keystroke waits for
    /// it), for the password as it was at edit `edit`.
    case checkPasswordDictionary(Password, name: String, email: String, edit: Int)
    /// Repaint everything (Ctrl-L).
    case redraw
}

/// What the reducer needs that is not state: the password policy (libpwquality behind a protocol).
public struct WizardEnvironment: Sendable {
    public var passwordPolicy: PasswordPolicy

    public init(passwordPolicy: PasswordPolicy) { self.passwordPolicy = passwordPolicy }
}
