import Activation
import Authority
import Foundation
import Keystore
import Synchronization
import Wizard
import Workstation

/// Events coming back from effects, collected for the terminal loop (which runs on its own thread).
final class Inbox: Sendable {
    private let events = Mutex<[WizardEvent]>([])

    func post(_ event: WizardEvent) { events.withLock { $0.append(event) } }

    func drain() -> [WizardEvent] { events.withLock { pending in defer { pending.removeAll() }; return pending } }
}

/// Runs the wizard's effects (authority calls, component checks, key generation, file writes)
/// off the terminal thread and posts their results back as events.
struct EffectRunner: Sendable {
    let authority: any Authority
    let paths: WorkstationPaths
    let cost: KDFCost
    let inbox: Inbox
    /// Kiosk `--profile-dir`: the destination is never created or replaced (see `Components`).
    var fixedProfileDirectory = false

    var components: Components { Components(paths: paths, authority: authority, fixedProfileDirectory: fixedProfileDirectory) }
    var activator: Activator { Activator(paths: paths, authority: authority, cost: cost) }

    /// Starts an effect; `redraw` and `quit` belong to the loop and are not handled here.
    func start(_ effect: WizardEffect) {
        let inbox = self.inbox
        switch effect {
        case .lookUp(let token):
            Task { inbox.post(.lookedUp(await outcome { try await authority.overview(of: token) })) }
        case .verifyIdentity(let token, let answers):
            Task { inbox.post(.identityChecked(await outcome { try await authority.verifyIdentity(token: token, answers: answers) })) }
        case .checkComponents:
            Task { inbox.post(.componentsChecked(await components.check())) }
        case .installActivationManager:
            Task {
                inbox.post(.activationManagerInstalled(await outcome {
                    try await components.installActivationManager()
                    return true
                }))
            }
        case .renewCodes(let token, let authorization):
            Task { inbox.post(.renewed(await outcome { try await authority.renewCodes(token: token, authorization: authorization) })) }
        case .activate(let order):
            let request = ActivationRequest(
                token: order.token, subscriber: order.subscriber, reference: order.reference, authorization: order.authorization,
                password: order.password, keyAlgorithm: KeyAlgorithm(rawValue: order.keyChoice.rawValue) ?? .rsa2048
            )
            Task {
                inbox.post(.activated(await outcome {
                    try await activator.issueAndWrite(request) { phase in inbox.post(.progressed(phase)) }.profile
                }))
            }
        case .logIn(let profile, let password):
            Task {
                inbox.post(.loggedIn(await outcome {
                    let summary = try await activator.login(profile: profile, password: password)
                    let certificate = profile.deletingPathExtension().appendingPathExtension("pem")
                    return summary.activationSummary(profile: profile, certificate: certificate)
                }))
            }
        case .redraw, .quit:
            break
        }
    }

    private func outcome<T: Equatable & Sendable>(_ body: () async throws -> T) async -> Outcome<T> {
        do {
            return .success(try await body())
        } catch {
            return .failure(notice(for: error))
        }
    }
}

/// The notice the screen shows for an error (a string key, so F2 can re-render it).
func notice(for error: any Error) -> Notice {
    switch error {
    case let error as ActivationError:
        return .error(error)
    case let error as AuthorityError:
        return .error("cli.error.authority.\(error.code.rawValue)", ["detail": error.reason])
    case let error as KeystoreError:
        return .error("cli.error.keystore.\(error.code.rawValue)", ["detail": error.reason])
    case let error as WorkstationError:
        return .error(error.messageKey, ["detail": error.detail])
    default:
        return .error("cli.error.unexpected")
    }
}
