import Foundation

/// The local components activation needs (step 3 of the wizard, `paraphe components`).
public enum ComponentKind: String, Sendable, CaseIterable, Codable {
    /// The local profile store (mode 0700) and the authority's CA in the local trust store.
    case activationManager
    /// The keystore: known-answer self-test (generate, sign, verify, write and re-read).
    case keystoreProvider

    public var nameKey: String { "component.\(rawValue)" }
}

/// What a check found.
public enum ComponentStatus: Sendable, Equatable {
    case installed(version: String)
    /// Not installed; `reason` is a string-table key.
    case missing(reason: String)
    /// Present but not working; `reason` is a string-table key, `detail` a short English fact.
    case failed(reason: String, detail: String)

    public var isInstalled: Bool { if case .installed = self { true } else { false } }
}

/// One component's line on the screen.
public struct ComponentReport: Sendable, Equatable {
    public var kind: ComponentKind
    public var status: ComponentStatus
    /// Paraphe can install or repair it itself (the activation manager can; the keystore provider cannot).
    public var installable: Bool

    public init(kind: ComponentKind, status: ComponentStatus, installable: Bool) {
        self.kind = kind
        self.status = status
        self.installable = installable
    }
}

extension Array where Element == ComponentReport {
    /// Step 3's rule: "Next" only when every check passed.
    public var allInstalled: Bool { !isEmpty && allSatisfy { $0.status.isInstalled } }
}

/// The phases shown while "Download and Activate" runs.
public enum ActivationProgress: String, Sendable, CaseIterable {
    case generatingKey, requestingCertificate, writingProfile, loggingIn

    public var messageKey: String { "progress.\(rawValue)" }
}

/// What became of "Make my digital signature available to the applications of this workstation" (the security
/// provider's registration, after the log-in).
public enum ProviderOutcome: Sendable, Equatable {
    /// Registered: the token's label, the certificate's NSS nickname ("TOKEN:NAME"), the NSS database a command can
    /// name, and the application that had a database open (that one was left alone), if any.
    case registered(label: String, nickname: String, database: String?, busy: String?)
    /// Not registered (the reason, from the error's message); the person can run `paraphe profile install` later.
    case failed(String)
    /// A kiosk: registration is for the person's own workstation (`paraphe profile install NAME.p12` there).
    case elsewhere(profileName: String)
}

/// What logging in to a new profile showed (step 5's summary): the certificate's summary, where the files are, and
/// what happened to the profile after the log-in.
public struct ActivationSummary: Sendable, Equatable {
    /// The profile's certificate, as the log-in read it.
    public var certificate: ProfileSummary
    public var profileFile: URL?
    public var certificateFile: URL?
    /// The certificate expires within the update window: "Your digital signature needs to be updated".
    public var updateDue = false
    /// Whether (and where) the profile was made available to the workstation's applications after the log-in.
    public var provider: ProviderOutcome?

    public init(certificate: ProfileSummary, profileFile: URL?, certificateFile: URL?) {
        self.certificate = certificate
        self.profileFile = profileFile
        self.certificateFile = certificateFile
    }
}
