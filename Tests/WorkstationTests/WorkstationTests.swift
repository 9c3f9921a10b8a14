import Activation
import Authority
import AuthorityInterface
import Crypto
import Foundation
import Keystore
import PasswordQuality
import Testing

@testable import Workstation

/// The workstation side on a real embedded authority in a temp directory.
@Suite struct WorkstationTests {
    let directory: URL
    let authority: EmbeddedAuthority
    let paths: WorkstationPaths

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("paraphe-ws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        authority = try EmbeddedAuthority(configuration: AuthorityConfiguration(dataDirectory: directory, answerHashIterations: 1_000))
        paths = WorkstationPaths(dataDirectory: directory)
    }

    /// The pipeline on this directory, with a fast KDF (the full cost is the benchmark's business).
    func service(
        _ paths: WorkstationPaths? = nil, fixed: Bool = false,
        checkpoint: @escaping @Sendable (ActivationCheckpoint) -> Void = { _ in }
    ) -> ActivationService {
        ActivationService(
            authority: authority, paths: paths ?? self.paths, cost: KDFCost(iterations: 2_048),
            passwordPolicy: PasswordPolicy(checker: PWQualityChecker()), fixedProfileDirectory: fixed, checkpoint: checkpoint)
    }

    func approve() async throws -> (ApplicationToken, ReferenceNumber, IdentityVerification) {
        let receipt = try await authority.approve(
            ApprovalRequest(
                subscriber: Subscriber(name: "Jeanne Tremblay", email: "jeanne.tremblay@example.com", language: .en),
                questions: ["Q1?", "Q2?", "Q3?"], answers: ["Montréal", "Rex", "Les Misérables"].map(SecurityAnswer.init)
            ))
        let identity = try await authority.verifyIdentity(token: receipt.token, answers: ["montreal", "rex", "x"].map(SecurityAnswer.init))
        return (receipt.token, receipt.reference, identity)
    }

    @Test func activationManagerIsMissingThenInstalledWithMode0700AndTheCA() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let components = Components(paths: paths, authority: authority)
        let before = await components.check()
        #expect(before.map(\.kind) == [.activationManager, .keystoreProvider])
        #expect(before[0].status == .missing(reason: "component.reason.noProfileStore"))
        #expect(before[0].installable)
        #expect(before[1].status.isInstalled)
        #expect(!before.allInstalled)

        try await components.installActivationManager()
        let after = await components.check()
        #expect(after.allInstalled)
        var info = stat()
        #expect(stat(paths.profileDirectory.path, &info) == 0 && info.st_mode & 0o777 == 0o700)
        let roots = try components.trustedRoots()
        #expect(roots.count == 1)

        // A profile store opened to others fails the check until reinstalled.
        chmod(paths.profileDirectory.path, 0o755)
        guard case .failed = await components.checkActivationManager().status else {
            Issue.record("an open profile store must fail the check")
            return
        }
        try await components.installActivationManager()
        #expect(await components.checkActivationManager().status.isInstalled)
    }

    @Test func activateWritesAProfileThatLogsInAndLeavesNoParkedKey() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let (token, reference, identity) = try await approve()
        try await Components(paths: paths, authority: authority).installActivationManager()
        let service = service()
        let request = ActivationRequest(
            token: token, subscriber: identity.subscriber, reference: reference,
            authorization: identity.authorization, password: Password("Vert-Orage-Piano-47"), keyAlgorithm: .p256)
        let phases = PhaseLog()
        let checkpoints = CheckpointLog()
        let files = try await self.service(checkpoint: { checkpoints.append($0) }).activate(request) { phases.append($0) }
        #expect(phases.all == [.generatingKey, .requestingCertificate, .writingProfile])
        #expect(checkpoints.all == ActivationCheckpoint.allCases)
        #expect(files.profile.lastPathComponent == "Jeanne_Tremblay.p12")
        let summary = try await service.logIn(profile: files.profile, password: Password("Vert-Orage-Piano-47"))
        #expect(summary.certificate.subject == "CN=Jeanne Tremblay")
        #expect(summary.certificate.email == "jeanne.tremblay@example.com")
        #expect(summary.certificate.keyAlgorithm == .p256)
        #expect(summary.certificateFile?.lastPathComponent == "Jeanne_Tremblay.pem")
        let parked = try FileManager.default.contentsOfDirectory(atPath: paths.pendingKeys.path)
        #expect(parked.isEmpty)
        await #expect(throws: KeystoreError.self) {
            try await service.logIn(profile: files.profile, password: Password("wrong-password-123"))
        }
        // Step 1 again: the application is activated, and this workstation logs in to its profile.
        let lookup = try await service.lookUp(token)
        #expect(lookup.local == .profileWritten(files.profile))
        #expect(try lookup.path == .logIn(files.profile))
    }

    @Test func aKeyParkedByAFailedRunIsReusedAndOpensOnlyWithThePassword() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let (token, reference, identity) = try await approve()
        try await Components(paths: paths, authority: authority).installActivationManager()
        let service = service()
        let activator = service.activator
        let password = Password("Vert-Orage-Piano-47")
        // Another valid number: the first digit changed, the check digit recomputed.
        var wrong = Array(reference.digits.prefix(8))
        wrong[0] = wrong[0] == "9" ? "1" : Character(String((wrong[0].wholeNumberValue ?? 0) + 1))
        let typo = try ReferenceNumber(parsing: String(wrong) + String(Damm.checkDigit(String(wrong))))
        #expect(typo != reference)
        var request = ActivationRequest(
            token: token, subscriber: identity.subscriber, reference: typo,
            authorization: identity.authorization, password: password, keyAlgorithm: .p256)
        await #expect(throws: ActivationError.self) { try await service.activate(request) }
        // Nothing was spent (a wrong reference number): step 1 still leads through the steps.
        #expect(try await service.lookUp(token).path == .steps)

        // The key stays parked, sealed under the password: the wrong password does not open it.
        let parkedFile = paths.pendingKeys.appendingPathComponent("\(token.value).parked")
        let sealed = Array(try Data(contentsOf: parkedFile))
        #expect(ParkedActivation.open(sealed, password: Password("another-password-1")) == nil)
        let (parked, _) = try #require(ParkedActivation.open(sealed, password: password))
        #expect(activator.parkedRequest(for: token, password: password)?.request.reference == typo)
        #expect(!String(decoding: sealed, as: UTF8.self).contains(identity.authorization.revealed))

        // The rerun with the right number uses the parked key.
        request.reference = reference
        let files = try await service.activate(request)
        let contents = try PKCS12.read(Array(try Data(contentsOf: files.profile)), password: password.revealed)
        #expect(try contents.key.pkcs8DER() == parked.pkcs8)
        #expect(!FileManager.default.fileExists(atPath: parkedFile.path))
    }

    /// The parked file is sealed under a key expanded from the profile bags' key (one PBKDF2 for both, the salt
    /// recorded); a file parked by the first version (sealed with the PBKDF2 key itself) still opens, and its key is
    /// not reused for the profile.
    @Test func parkedFilesOfBothFormatsOpenWithThePasswordOnly() throws {
        struct Envelope: Codable {
            var version: Int
            var kdf: String
            var iterations: Int
            var salt: [UInt8]
            var sealed: [UInt8]
        }
        let password = Password("Vert-Orage-Piano-47")
        let parked = ParkedActivation(
            pkcs8: [1, 2, 3], algorithm: "p256", authorization: "ABCD-EFGH", reference: "123456789",
            name: "Jeanne Tremblay", email: "jeanne@example.org", language: "fr")
        let keys = try ProfileKeys.derive(password: password.revealed, cost: KDFCost(iterations: 2_048))
        let current = try parked.seal(with: keys.bag)
        let envelope = try JSONDecoder().decode(Envelope.self, from: Data(current))
        #expect(envelope.version == 2 && envelope.salt == keys.bag.salt && envelope.iterations == 2_048)
        let (opened, bag) = try #require(ParkedActivation.open(current, password: password))
        #expect(opened.reference == "123456789" && bag?.salt == keys.bag.salt)
        #expect(ParkedActivation.open(current, password: Password("vert-orage-piano-47")) == nil)

        let salt = [UInt8](repeating: 7, count: 16)
        let key = try ProfileKDF.bagKey(password: password.revealed, salt: salt, cost: KDFCost(iterations: 2_048))
        let sealed = try #require(try AES.GCM.seal(JSONEncoder().encode(parked), using: key).combined)
        let first = Array(
            try JSONEncoder().encode(Envelope(version: 1, kdf: "pbkdf2-hmac-sha256", iterations: 2_048, salt: salt, sealed: Array(sealed))))
        let (old, noBag) = try #require(ParkedActivation.open(first, password: password))
        #expect(old.name == "Jeanne Tremblay" && noBag == nil)
        #expect(ParkedActivation.open(first, password: Password("another-password-1")) == nil)
    }

    @Test func aMissingProfileDirectoryIsRefusedBeforeAnyCodeIsUsed() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let (token, reference, identity) = try await approve()
        let elsewhere = WorkstationPaths(dataDirectory: directory, profileDirectory: directory.appendingPathComponent("no/such/dir"))
        let request = ActivationRequest(
            token: token, subscriber: identity.subscriber, reference: reference,
            authorization: identity.authorization, password: Password("Vert-Orage-Piano-47"))
        await #expect(throws: WorkstationError(.profileStore, "")) { try await service(elsewhere).activate(request) }
        #expect(try await authority.record(for: token).status == .approved)
    }

    /// Issue 10.6: a kiosk's removable profile folder that went away after step 3 gets the advice a
    /// person at a kiosk can follow (plug it back in), not "choose a folder" or a command to run; and
    /// the message names the folder once, ungarbled.
    @Test func aKioskWhoseProfileFolderWentAwayIsToldToPlugItBackIn() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let (token, reference, identity) = try await approve()
        let medium = directory.appendingPathComponent("usb")
        try FileManager.default.createDirectory(at: medium, withIntermediateDirectories: false)
        let kiosk = WorkstationPaths(dataDirectory: directory, profileDirectory: medium)
        try await service(kiosk, fixed: true).installActivationManager()
        try FileManager.default.removeItem(at: medium)
        let request = ActivationRequest(
            token: token, subscriber: identity.subscriber, reference: reference,
            authorization: identity.authorization, password: Password("Vert-Orage-Piano-47"))
        do {
            _ = try await service(kiosk, fixed: true).activate(request)
            Issue.record("the activation went on without its folder")
        } catch {
            let description = ErrorDescription(error)
            #expect(description.messageKey == "workstation.error.removableProfileFolder")
            for language in Language.allCases {
                let message = description.message(in: language)
                #expect(message.contains(medium.path) && !message.contains("paraphe components"), "\(message)")
            }
            #expect(description.message(in: .en).contains("Plug the removable medium back in"))
        }
        #expect(try await authority.record(for: token).status == .approved, "nothing was spent")
        #expect(!FileManager.default.fileExists(atPath: medium.path), "the folder is never created in its place")

        // Outside a kiosk, a profile folder that cannot be created is named once, in a sentence that reads.
        let blocked = directory.appendingPathComponent("file-not-folder")
        try Data("x".utf8).write(to: blocked)
        let cannot = WorkstationPaths(dataDirectory: directory, profileDirectory: blocked.appendingPathComponent("profiles"))
        do {
            try await service(cannot).installActivationManager()
            Issue.record("a profile folder under a file was created")
        } catch {
            let message = ErrorDescription(error).message(in: .en)
            #expect(message.hasPrefix("The profile folder \(cannot.profileDirectory.path) is missing or not writable."), "\(message)")
            #expect(!message.contains("cannot create"))
        }
    }

    @Test func theAuthorizationCodeIsNowhereInClearAfterAnActivation() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let (token, reference, identity) = try await approve()
        try await Components(paths: paths, authority: authority).installActivationManager()
        let request = ActivationRequest(
            token: token, subscriber: identity.subscriber, reference: reference,
            authorization: identity.authorization, password: Password("Vert-Orage-Piano-47"), keyAlgorithm: .p256)
        _ = try await service().activate(request)
        let code = Data(identity.authorization.revealed.utf8)
        let walker = try #require(FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil))
        var scanned = 0
        for case let file as URL in walker {
            guard let bytes = try? Data(contentsOf: file) else { continue }
            scanned += 1
            #expect(bytes.range(of: code) == nil, "authorization code in \(file.lastPathComponent)")
        }
        #expect(scanned >= 5)
    }

    @Test func anActivationInterruptedAfterIssuanceIsFinishedWithItsPasswordOnly() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let (token, reference, identity) = try await approve()
        try await Components(paths: paths, authority: authority).installActivationManager()
        let password = Password("Vert-Orage-Piano-47")
        let request = ActivationRequest(
            token: token, subscriber: identity.subscriber, reference: reference,
            authorization: identity.authorization, password: password, keyAlgorithm: .p256)
        // The run stops once the certificate is issued (the codes are spent), before any profile file.
        let stopped = ActivationService(
            authority: StoppingAuthority(authority), paths: paths, cost: KDFCost(iterations: 2_048),
            passwordPolicy: PasswordPolicy(checker: PWQualityChecker()))
        await #expect(throws: StoppingAuthority.Stopped.self) { try await stopped.activate(request) }
        #expect(try await authority.record(for: token).status == .activated)

        let service = service()
        let lookup = try await service.lookUp(token)
        #expect(lookup.local == .parked)
        #expect(try lookup.path == .finishParked)
        await #expect(throws: KeystoreError(.wrongPassword)) {
            try await service.finishParked(token: token, password: Password("not-the-password-9"))
        }
        let files = try await service.finishParked(token: token, password: password)
        let summary = try await service.logIn(profile: files.profile, password: password)
        #expect(summary.certificate.keyAlgorithm == .p256)
        #expect(service.localActivation(of: token) == .profileWritten(files.profile))
        #expect(try FileManager.default.contentsOfDirectory(atPath: paths.pendingKeys.path).isEmpty)
    }

    @Test func aWeakPasswordIsRefusedLocallyBeforeAnythingIsSpent() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: ActivationError(.passwordRejected([.minimumLength, .notCommon]))) {
            try service().checkPasswordLocally(Password("short"), confirmation: Password("short"))
        }
        #expect(throws: ActivationError(.passwordRejected([.confirmationMatches]))) {
            try service().checkPasswordLocally(Password("Vert-Orage-Piano-47"), confirmation: Password("Vert-Orage-Piano-48"))
        }
        try service().checkPasswordLocally(Password("Vert-Orage-Piano-47"), confirmation: Password("Vert-Orage-Piano-47"))
    }

    @Test func dataDirectoryResolution() {
        #expect(DataDirectory.resolve(explicit: "/x", environment: ["PARAPHE_HOME": "/y"]).path == "/x")
        #expect(DataDirectory.resolve(explicit: nil, environment: ["PARAPHE_HOME": "/y", "XDG_DATA_HOME": "/z"]).path == "/y")
        #expect(DataDirectory.resolve(explicit: nil, environment: ["XDG_DATA_HOME": "/z", "HOME": "/h"]).path == "/z/paraphe")
        #expect(DataDirectory.resolve(explicit: nil, environment: ["HOME": "/h"]).path == "/h/.local/share/paraphe")
        #expect(
            DataDirectory.resolve(explicit: nil, environment: ["XDG_DATA_HOME": "relative", "HOME": "/h"]).path
                == "/h/.local/share/paraphe")
    }
}

/// Collects progress phases from a @Sendable callback.
final class PhaseLog: @unchecked Sendable {
    private let lock = NSLock()
    private var phases: [ActivationProgress] = []
    func append(_ phase: ActivationProgress) { lock.withLock { phases.append(phase) } }
    var all: [ActivationProgress] { lock.withLock { phases } }
}

/// Collects checkpoints from a @Sendable callback.
final class CheckpointLog: @unchecked Sendable {
    private let lock = NSLock()
    private var points: [ActivationCheckpoint] = []
    func append(_ point: ActivationCheckpoint) { lock.withLock { points.append(point) } }
    var all: [ActivationCheckpoint] { lock.withLock { points } }
}

/// The real authority, except for one failure: the answer of `issueCertificate` is lost (the certificate *is* issued and
/// the codes spent: what a workstation sees when it dies or the network drops right then), or it cannot say whom it names
/// (its `GET /api/v1/about` times out).
struct StoppingAuthority: Authority {
    struct Stopped: Error {}
    enum Stop { case certificateAnswer, customerService }
    let wrapped: any Authority
    let stop: Stop
    init(_ wrapped: any Authority, stopping stop: Stop = .certificateAnswer) {
        self.wrapped = wrapped
        self.stop = stop
    }

    func approve(_ request: ApprovalRequest) async throws -> ApprovalReceipt { try await wrapped.approve(request) }
    func overview(of token: ApplicationToken) async throws -> ApplicationOverview { try await wrapped.overview(of: token) }
    func verifyIdentity(token: ApplicationToken, answers: [SecurityAnswer]) async throws -> IdentityVerification {
        try await wrapped.verifyIdentity(token: token, answers: answers)
    }
    func renewCodes(token: ApplicationToken, authorization: AuthorizationCode) async throws -> RenewalReceipt {
        try await wrapped.renewCodes(token: token, authorization: authorization)
    }
    func issueCertificate(token: ApplicationToken, reference: ReferenceNumber, authorization: AuthorizationCode, csrDER: [UInt8]) async throws
        -> IssuedCertificate
    {
        let issued = try await wrapped.issueCertificate(token: token, reference: reference, authorization: authorization, csrDER: csrDER)
        if stop == .certificateAnswer { throw Stopped() }
        return issued
    }
    func caCertificateDER() async throws -> [UInt8] { try await wrapped.caCertificateDER() }
    func cmp(_ message: [UInt8]) async throws -> [UInt8] { try await wrapped.cmp(message) }
    func requestRecovery(email: String) async throws { try await wrapped.requestRecovery(email: email) }
    func customerService() async throws -> CustomerService? {
        if stop == .customerService { throw Stopped() }
        return try await wrapped.customerService()
    }
}

extension WorkstationTests {
    /// What the workstation names when a message sends the person to customer service: the authority's contact, kept
    /// for when it cannot be asked; a local help desk instead when the configuration names one; nothing once the
    /// authority names nobody.
    @Test func theCustomerServiceIsKeptForWhenTheAuthorityCannotSay() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let published = CustomerService(en: .init(name: "CA Support", phone: "+1 514 555-0199"))
        var configuration = AuthorityConfiguration(dataDirectory: directory, answerHashIterations: 1_000)
        configuration.customerService = published
        let naming = try EmbeddedAuthority(configuration: configuration)
        let policy = PasswordPolicy(checker: PWQualityChecker())

        #expect(ActivationService(authority: naming, paths: paths, passwordPolicy: policy).knownCustomerService() == nil)
        #expect(await ActivationService(authority: naming, paths: paths, passwordPolicy: policy).refreshCustomerService() == published)
        let unreachable = ActivationService(authority: StoppingAuthority(naming, stopping: .customerService), paths: paths, passwordPolicy: policy)
        #expect(unreachable.knownCustomerService() == published)
        #expect(await unreachable.refreshCustomerService() == published)

        let desk = CustomerService(en: .init(name: "Library help desk", phone: "+1 514 555-0123"))
        let kiosk = ActivationService(authority: naming, paths: paths, passwordPolicy: policy, localCustomerService: desk)
        #expect(kiosk.knownCustomerService() == desk)
        #expect(await kiosk.refreshCustomerService() == desk)

        // A damaged or hostile file is not shown.
        try Data(#"{"en":{"phone":"1\u001b[2J"},"fr":{}}"#.utf8).write(to: paths.customerServiceFile)
        #expect(unreachable.knownCustomerService() == nil)

        // The authority names nobody any more: nothing is kept.
        #expect(await service().refreshCustomerService() == nil)
        #expect(!FileManager.default.fileExists(atPath: paths.customerServiceFile.path))
    }
}
