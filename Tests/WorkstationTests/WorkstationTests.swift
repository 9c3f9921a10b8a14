import Activation
import Authority
import Foundation
import Keystore
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

    func approve() async throws -> (ApplicationToken, ReferenceNumber, IdentityVerification) {
        let receipt = try await authority.approve(ApprovalRequest(
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
        let activator = Activator(paths: paths, authority: authority, cost: KDFCost(iterations: 2_048))
        let request = ActivationRequest(token: token, subscriber: identity.subscriber, reference: reference,
                                        authorization: identity.authorization, password: Password("Vert-Orage-Piano-47"), keyAlgorithm: .p256)
        let phases = PhaseLog()
        let result = try await activator.activate(request) { phases.append($0) }
        #expect(phases.all == [.generatingKey, .requestingCertificate, .writingProfile, .loggingIn])
        #expect(result.profileFile.lastPathComponent == "Jeanne_Tremblay.p12")
        #expect(result.summary.commonName == "Jeanne Tremblay")
        #expect(result.summary.email == "jeanne.tremblay@example.com")
        let parked = try FileManager.default.contentsOfDirectory(atPath: paths.pendingKeys.path)
        #expect(parked.isEmpty)
        await #expect(throws: KeystoreError.self) {
            try await activator.login(profile: result.profileFile, password: Password("wrong-password-123"))
        }
    }

    @Test func aKeyParkedByAFailedRunIsReusedAndOpensOnlyWithThePassword() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let (token, reference, identity) = try await approve()
        try await Components(paths: paths, authority: authority).installActivationManager()
        let activator = Activator(paths: paths, authority: authority, cost: KDFCost(iterations: 2_048))
        let password = Password("Vert-Orage-Piano-47")
        // Another valid number: the first digit changed, the check digit recomputed.
        var wrong = Array(reference.digits.prefix(8))
        wrong[0] = wrong[0] == "9" ? "1" : Character(String((wrong[0].wholeNumberValue ?? 0) + 1))
        let typo = try ReferenceNumber(parsing: String(wrong) + String(Damm.checkDigit(String(wrong))))
        #expect(typo != reference)
        var request = ActivationRequest(token: token, subscriber: identity.subscriber, reference: typo,
                                        authorization: identity.authorization, password: password, keyAlgorithm: .p256)
        await #expect(throws: ActivationError.self) { try await activator.issueAndWrite(request) }

        // The key stays parked, sealed under the password: the wrong password does not open it.
        let parkedFile = paths.pendingKeys.appendingPathComponent("\(token.value).parked")
        let sealed = Array(try Data(contentsOf: parkedFile))
        #expect(ParkedActivation.open(sealed, password: Password("another-password-1")) == nil)
        let (parked, _) = try #require(ParkedActivation.open(sealed, password: password))
        #expect(activator.parkedRequest(for: token, password: password)?.reference == typo)
        #expect(!String(decoding: sealed, as: UTF8.self).contains(identity.authorization.revealed))

        // The rerun with the right number uses the parked key.
        request.reference = reference
        let files = try await activator.issueAndWrite(request)
        let contents = try PKCS12.read(Array(try Data(contentsOf: files.profile)), password: password.revealed)
        #expect(try contents.key.pkcs8DER() == parked.pkcs8)
        #expect(!FileManager.default.fileExists(atPath: parkedFile.path))
    }

    @Test func aMissingProfileDirectoryIsRefusedBeforeAnyCodeIsUsed() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let (token, reference, identity) = try await approve()
        let elsewhere = WorkstationPaths(dataDirectory: directory, profileDirectory: directory.appendingPathComponent("no/such/dir"))
        let activator = Activator(paths: elsewhere, authority: authority, cost: KDFCost(iterations: 2_048))
        let request = ActivationRequest(token: token, subscriber: identity.subscriber, reference: reference,
                                        authorization: identity.authorization, password: Password("Vert-Orage-Piano-47"))
        await #expect(throws: WorkstationError(.profileStore, "")) { try await activator.activate(request) }
        #expect(try await authority.record(for: token).status == .approved)
    }

    @Test func theAuthorizationCodeIsNowhereInClearAfterAnActivation() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let (token, reference, identity) = try await approve()
        try await Components(paths: paths, authority: authority).installActivationManager()
        let activator = Activator(paths: paths, authority: authority, cost: KDFCost(iterations: 2_048))
        let request = ActivationRequest(token: token, subscriber: identity.subscriber, reference: reference,
                                        authorization: identity.authorization, password: Password("Vert-Orage-Piano-47"), keyAlgorithm: .p256)
        _ = try await activator.activate(request)
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

    @Test func dataDirectoryResolution() {
        #expect(WorkstationPaths.resolveDataDirectory(explicit: "/x", environment: ["PARAPHE_HOME": "/y"]).path == "/x")
        #expect(WorkstationPaths.resolveDataDirectory(explicit: nil, environment: ["PARAPHE_HOME": "/y", "XDG_DATA_HOME": "/z"]).path == "/y")
        #expect(WorkstationPaths.resolveDataDirectory(explicit: nil, environment: ["XDG_DATA_HOME": "/z", "HOME": "/h"]).path == "/z/paraphe")
        #expect(WorkstationPaths.resolveDataDirectory(explicit: nil, environment: ["HOME": "/h"]).path == "/h/.local/share/paraphe")
        #expect(WorkstationPaths.resolveDataDirectory(explicit: nil, environment: ["XDG_DATA_HOME": "relative", "HOME": "/h"]).path == "/h/.local/share/paraphe")
    }
}

/// Collects progress phases from a @Sendable callback.
final class PhaseLog: @unchecked Sendable {
    private let lock = NSLock()
    private var phases: [ActivationProgress] = []
    func append(_ phase: ActivationProgress) { lock.withLock { phases.append(phase) } }
    var all: [ActivationProgress] { lock.withLock { phases } }
}
