import Activation
import Foundation

/// What this workstation holds of an application (found at step 1, before anything is asked).
public enum LocalActivation: Equatable, Sendable {
    /// Nothing: a first activation here, or one done elsewhere.
    case none
    /// An activation interrupted after "Download and Activate": its key is parked here, sealed under
    /// the password the person chose. The password finishes it (the identity check is behind it).
    case parked
    /// The profile was written here; logging in to it is what remains (or is repeated).
    case profileWritten(URL)
}

/// Step 1's answer: the application at the authority and its trace on this workstation.
public struct ApplicationLookup: Equatable, Sendable {
    public var overview: ApplicationOverview
    public var local: LocalActivation

    public init(overview: ApplicationOverview, local: LocalActivation) {
        self.overview = overview
        self.local = local
    }

    /// What the person can do with it: go through the steps, finish here, log in here — or nothing
    /// (activated elsewhere, locked, revoked), with the reason.
    public var path: ActivationPath {
        get throws(ActivationError) {
            switch (overview.status, local) {
            case (.activated, .parked): return .finishParked
            case (.activated, .profileWritten(let profile)): return .logIn(profile)
            default:
                try overview.status.ensureActivatable()
                return .steps
            }
        }
    }
}

/// Where an application goes from step 1.
public enum ActivationPath: Equatable, Sendable {
    /// Steps 2 to 5.
    case steps
    /// Finish the activation parked on this workstation (ask for its password).
    case finishParked
    /// Log in to the profile already written on this workstation.
    case logIn(URL)
}
