import Activation
import Authority
import AuthorityInterface
import Foundation
import Keystore
import Testing
import Wizard
import WizardRuntime
import Workstation

/// Each effect, run for real on an embedded authority in a temp directory, and the events it sends
/// back, in order (as `TestStore.receive` asserts them).
@Suite struct EffectRunnerTests {
    let directory: URL
    let authority: EmbeddedAuthority
    let runner: EffectRunner
    let paths: WorkstationPaths

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("paraphe-runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        authority = try EmbeddedAuthority(configuration: AuthorityConfiguration(dataDirectory: directory, answerHashIterations: 1_000))
        paths = WorkstationPaths(dataDirectory: directory)
        let service = ActivationService(
            authority: authority, paths: paths, cost: KDFCost(iterations: 2_048),
            passwordPolicy: PasswordPolicy(checker: LengthOnly()))
        runner = EffectRunner(service: service)
    }

    /// The events `effect` sends back.
    func receive(_ effect: WizardEffect) async -> [WizardEvent] {
        let log = EventLog()
        await runner.perform(effect) { log.append($0) }
        return log.all
    }

    func approve() async throws -> ApprovalReceipt {
        try await authority.approve(
            ApprovalRequest(
                subscriber: Subscriber(name: "Jeanne Tremblay", email: "jeanne.tremblay@example.com", language: .fr),
                questions: ["Q1?", "Q2?", "Q3?"], answers: ["Montréal", "Rex", "Dune"].map(SecurityAnswer.init)
            ))
    }

    @Test func everyEffectOfAnActivationSendsBackItsEvent() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let receipt = try await approve()
        let token = receipt.token

        let overview = try await authority.overview(of: token)
        #expect(await receive(.lookUp(token)) == [.lookedUp(.success(ApplicationLookup(overview: overview, local: .none)))])

        let wrong = await receive(.verifyIdentity(token, ["a", "b", "c"].map(SecurityAnswer.init)))
        #expect(wrong == [.identityChecked(.failure(.refused(ActivationError(.wrongAnswers(remaining: 4)))))])
        guard
            case .identityChecked(.success(let identity))? = await receive(.verifyIdentity(token, ["montreal", "rex", "x"].map(SecurityAnswer.init)))
                .first
        else {
            Issue.record("the identity check should pass")
            return
        }
        #expect(identity.subscriber.name == "Jeanne Tremblay")

        guard case .componentsChecked(let before)? = await receive(.checkComponents).first else {
            Issue.record("no report")
            return
        }
        #expect(!before.allInstalled)
        #expect(await receive(.installActivationManager) == [.activationManagerInstalled(.success(true))])
        guard case .componentsChecked(let after)? = await receive(.checkComponents).first else {
            Issue.record("no report")
            return
        }
        #expect(after.allInstalled)

        let order = ActivationRequest(
            token: token, subscriber: identity.subscriber, reference: receipt.reference,
            authorization: identity.authorization, password: Password("Vert-Orage-Piano-47"), keyAlgorithm: .p256)
        let activation = await receive(.activate(order))
        let profile = paths.profileDirectory.appendingPathComponent("Jeanne_Tremblay.p12")
        #expect(
            activation == [
                .progressed(.generatingKey), .progressed(.requestingCertificate), .progressed(.writingProfile),
                .activated(.success(profile)),
            ])

        guard
            case .loggedIn(.success(let summary))? = await receive(
                .logIn(profile: profile, password: Password("Vert-Orage-Piano-47"), installProvider: false)
            ).first
        else {
            Issue.record("the log-in should pass")
            return
        }
        #expect(summary.certificate.keyAlgorithm == .p256 && summary.profileFile == profile)
        let refused = await receive(.logIn(profile: profile, password: Password("not-it-at-all-1"), installProvider: false))
        guard case .loggedIn(.failure(.other(let key, _)))? = refused.first else {
            Issue.record("a wrong password must be refused, got \(refused)")
            return
        }
        #expect(key == "cli.error.keystore.wrongPassword")

        // Step 1 again: this workstation logs in to the profile it wrote.
        let again = try await authority.overview(of: token)
        #expect(await receive(.lookUp(token)) == [.lookedUp(.success(ApplicationLookup(overview: again, local: .profileWritten(profile))))])
        // Nothing parked: finishing a parked activation says it is done.
        guard case .activated(.success(let finished))? = await receive(.finishParked(token, Password("Vert-Orage-Piano-47"))).first else {
            Issue.record("a finished activation has its profile")
            return
        }
        #expect(finished == profile)
    }

    @Test func renewalAndAnUnknownTokenSendBackTheirEvents() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let receipt = try await approve()
        let identity = try await authority.verifyIdentity(token: receipt.token, answers: ["montreal", "rex", "x"].map(SecurityAnswer.init))
        guard case .renewed(.success(let renewal))? = await receive(.renewCodes(receipt.token, identity.authorization)).first else {
            Issue.record("renewal should pass")
            return
        }
        #expect(renewal.maskedEmail == "j•••@example.com")
        let unknown = try ApplicationToken(parsing: "7K2M-Q9XD-4HPA-VT3R")
        #expect(await receive(.lookUp(unknown)) == [.lookedUp(.failure(.refused(ActivationError(.unknownApplication))))])
        #expect(await receive(.redraw).isEmpty)
    }

    @Test func theQueueWakesItsWaiterAndDeliversInOrder() {
        let queue = EventQueue()
        var ready = pollfd(fd: queue.descriptor, events: Int16(POLLIN), revents: 0)
        #expect(poll(&ready, 1, 0) == 0)
        queue.post(.progressed(.generatingKey))
        queue.post(.progressed(.writingProfile))
        #expect(poll(&ready, 1, 0) == 1)
        #expect(queue.drain() == [.progressed(.generatingKey), .progressed(.writingProfile)])
        ready.revents = 0
        #expect(poll(&ready, 1, 0) == 0)
    }
}

/// Only the length rules (the dictionary is PasswordQuality's business, tested there).
struct LengthOnly: PasswordStrengthChecking {
    func isCommon(_ password: Password, name: String, email: String) -> Bool { false }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [WizardEvent] = []
    func append(_ event: WizardEvent) { lock.withLock { events.append(event) } }
    var all: [WizardEvent] { lock.withLock { events } }
}
