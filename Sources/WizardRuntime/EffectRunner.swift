import Activation
import AuthorityInterface
import Foundation
import Synchronization
import Wizard
import Workstation

/// Runs the wizard's effects (authority calls, component checks, key generation, file writes) through
/// the workstation's one activation pipeline, and turns each into the events the wizard reads.
///
/// Running effects are tracked, so the program loop can cancel them when it ends.
public final class EffectRunner: EffectRunning {
    public let service: ActivationService
    /// Where the log-in screen's "make it available to the applications" registers the profile (nil: never offered).
    public let provider: ProviderRegistration?
    /// An event to post after one an effect sent, if any (`paraphe demo`: the new reference number a renewal mailed).
    private let followUp: (@Sendable (WizardEvent) -> WizardEvent?)?
    private let running = Mutex<(next: Int, tasks: [Int: Task<Void, Never>])>((0, [:]))

    public init(
        service: ActivationService, provider: ProviderRegistration? = nil, followUp: (@Sendable (WizardEvent) -> WizardEvent?)? = nil
    ) {
        self.service = service
        self.provider = provider
        self.followUp = followUp
    }

    /// Starts `effect` in a task that posts its events to `queue`.
    ///
    /// `redraw` belongs to the loop and is not handled here.
    public func start(_ effect: WizardEffect, posting queue: EventQueue) {
        running.withLock { running in
            let id = running.next
            running.next += 1
            running.tasks[id] = Task {
                await self.perform(effect) { event in
                    queue.post(event)
                    if let next = self.followUp?(event) { queue.post(next) }
                }
                self.running.withLock { _ = $0.tasks.removeValue(forKey: id) }
            }
        }
    }

    /// Cancels every running effect (the program is ending).
    public func cancelAll() {
        let tasks = running.withLock { running in
            defer { running.tasks.removeAll() }
            return Array(running.tasks.values)
        }
        for task in tasks { task.cancel() }
    }

    /// Runs `effect` to its end, emitting the events it produces in order: progress, then its result.
    public func perform(_ effect: WizardEffect, emit: @escaping @Sendable (WizardEvent) -> Void) async {
        switch effect {
        case .lookUp(let token):
            // Whom the authority names, asked beside the look-up (an authority not yet vouched for is not asked: the
            // workstation keeps what it knew), so a message that sends the person there has it when it shows.
            async let customerService = service.refreshCustomerService()
            let result = await outcome { try await self.service.lookUp(token) }
            if let known = await customerService { emit(.customerServiceKnown(known)) }
            emit(Self.unconfirmedAuthority(result) ?? .lookedUp(result))
        case .requestRecovery(let email):
            let result = await outcome {
                try await self.service.requestRecovery(email: email)
                return true
            }
            emit(Self.unconfirmedAuthority(result) ?? .recoveryRequested(result))
        case .trustAuthority(let fingerprint):
            emit(
                .authorityTrusted(
                    await outcome {
                        try await self.service.trustAuthority(fingerprint: fingerprint)
                        return true
                    }))
        case .verifyIdentity(let token, let answers):
            emit(.identityChecked(await outcome { try await self.service.verifyIdentity(token: token, answers: answers) }))
        case .checkPasswordDictionary(let password, let name, let email, let edit):
            emit(.passwordDictionaryChecked(edit: edit, common: service.passwordPolicy.isCommon(password, name: name, email: email)))
        case .checkComponents:
            emit(.componentsChecked(await service.checkComponents()))
        case .installActivationManager:
            emit(
                .activationManagerInstalled(
                    await outcome {
                        try await self.service.installActivationManager()
                        return true
                    }))
        case .renewCodes(let token, let authorization):
            emit(.renewed(await outcome { try await self.service.renewCodes(token: token, authorization: authorization) }))
        case .activate(let request):
            emit(
                .activated(
                    await outcome {
                        try await self.service.activate(request) { emit(.progressed($0)) }.profile
                    }))
        case .finishParked(let token, let password):
            emit(
                .activated(
                    await outcome {
                        try await self.service.finishParked(token: token, password: password) { emit(.progressed($0)) }.profile
                    }))
        case .logIn(let profile, let password, let installProvider):
            emit(
                .loggedIn(
                    await outcome {
                        var summary = try await self.service.logIn(profile: profile, password: password)
                        if installProvider, let provider = self.provider {
                            summary.provider = await self.register(profile, password: password, with: provider)
                        }
                        return summary
                    }))
        case .updateProfile(let profile, let password):
            emit(.profileUpdated(await outcome { try await self.service.updateProfile(profile: profile, password: password).summary }))
        case .redraw:
            break
        }
    }

    /// Makes the profile just logged in to available to the workstation's applications.
    ///
    /// A failure does not undo the log-in: the summary says why, and that `paraphe profile install` can do it
    /// later.
    private func register(_ profile: URL, password: Password, with provider: ProviderRegistration) async -> ProviderOutcome {
        do {
            let report = try await service.installProvider(profile: profile, password: password, registration: provider)
            return .registered(
                label: report.label, nickname: report.nickname, database: report.databases.first, busy: report.busy.values.sorted().first)
        } catch {
            return .failed(ErrorDescription(error).message(in: .en))
        }
    }

    /// A request held back because nothing vouches for the authority yet: the event that asks the person.
    static func unconfirmedAuthority<T>(_ outcome: Outcome<T>) -> WizardEvent? {
        guard case .failure(.network(let error)) = outcome, error.code == .notPinned else { return nil }
        return .authorityUnconfirmed(fingerprint: error.reason)
    }

    private func outcome<T: Equatable & Sendable>(_ body: () async throws -> T) async -> Outcome<T> {
        do {
            return .success(try await body())
        } catch {
            return .failure(failure(for: error))
        }
    }
}

/// What went wrong, as `reduce` decides on it: a rule's refusal and a network failure keep their types; any other
/// error is the message the person reads (a string key, so F2 can render it again).
public func failure(for error: any Error) -> Failure {
    if let error = error as? ActivationError { return .refused(error) }
    if let error = error as? AuthorityConnectionError { return .network(error) }
    let description = ErrorDescription(error)
    return .other(messageKey: description.messageKey, arguments: description.arguments)
}
