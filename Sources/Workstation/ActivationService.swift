import Activation
import AuthorityInterface
import CivilTime
import Foundation
import Keystore
import ParapheShared
import RevocationList
import Synchronization

/// The files an activation wrote.
public struct ProfileFiles: Equatable, Sendable {
    public var profile: URL
    public var certificate: URL

    public init(profile: URL, certificate: URL) {
        self.profile = profile
        self.certificate = certificate
    }
}

/// The workstation's one activation pipeline (steps 2–5 on this machine).
///
/// The full-screen wizard's effects, plain mode and `paraphe activate` all go through it: local
/// checks before anything is spent at the authority, key generation during the identity check, the
/// parked key, resume, and logging in to a profile already written here.
public final class ActivationService: Sendable {
    public let authority: any Authority
    public let paths: WorkstationPaths
    public let cost: KDFCost
    public let passwordPolicy: PasswordPolicy
    /// Kiosk `--profile-dir`: the destination is never created or replaced (see `Components`).
    public let fixedProfileDirectory: Bool
    let activator: Activator
    /// Keys generated ahead of "Download and Activate", by application and key type.
    private let pregenerated = Mutex<[String: Task<SigningKey, any Error>]>([:])
    /// The profile's password-derived keys, derived ahead when the password is known before the identity
    /// check (`paraphe activate`), by application.
    private let prepared = Mutex<[String: Task<ProfileKeys, any Error>]>([:])
    /// The profile this process wrote last and the keys it wrote it with, until the log-in that follows.
    private let written = Mutex<(profile: URL, keys: ProfileKeys)?>(nil)

    /// Whether step 3 checks the security provider (the PKCS#11 module) too.
    public let provider: ProviderCheck
    /// A profile whose certificate expires within this long is offered an update at log-in (60 days).
    public let updateWindow: TimeInterval
    /// Now, for the update window (the system clock unless the program was started with another).
    let now: @Sendable () -> Date
    /// A local help desk (`[customer_service]` of the configuration) named instead of the authority's customer service.
    public let localCustomerService: CustomerService?

    public init(
        authority: any Authority, paths: WorkstationPaths, cost: KDFCost = .standard, passwordPolicy: PasswordPolicy,
        fixedProfileDirectory: Bool = false, checkpoint: @escaping @Sendable (ActivationCheckpoint) -> Void = { _ in },
        updateWindow: TimeInterval = 60 * 86_400, now: @escaping @Sendable () -> Date = { Date() }, provider: ProviderCheck = .notChecked,
        localCustomerService: CustomerService? = nil
    ) {
        self.localCustomerService = localCustomerService
        self.provider = provider
        self.updateWindow = updateWindow
        self.now = now
        self.authority = authority
        self.paths = paths
        self.cost = cost
        self.passwordPolicy = passwordPolicy
        self.fixedProfileDirectory = fixedProfileDirectory
        activator = Activator(
            paths: paths, authority: authority, cost: cost, checkpoint: checkpoint, now: now, fixedProfileDirectory: fixedProfileDirectory)
    }

    public var components: Components {
        Components(paths: paths, authority: authority, fixedProfileDirectory: fixedProfileDirectory, provider: provider)
    }

    // MARK: - Customer service

    /// Whom messages send the person to, known without asking anyone (`WorkstationPaths.knownCustomerService`).
    public func knownCustomerService() -> CustomerService? {
        paths.knownCustomerService(local: localCustomerService)
    }

    /// Asks the authority whom it names (after it was vouched for: step 1's look-up), and keeps the answer for the next
    /// start; when it cannot answer (a network failure is no reason to stop anything), what was known.
    public func refreshCustomerService() async -> CustomerService? {
        if let localCustomerService { return localCustomerService }
        let published: CustomerService?
        do {
            published = try await authority.customerService()
        } catch {
            return knownCustomerService()
        }
        if let published, let data = try? JSONEncoder().encode(published) {
            try? AtomicFile.write(Array(data), to: paths.customerServiceFile, mode: 0o644)
        } else if published == nil {
            try? FileManager.default.removeItem(at: paths.customerServiceFile)
        }
        return published
    }

    // MARK: - Step 1

    /// The application behind `token` and what this workstation holds of it.
    public func lookUp(_ token: ApplicationToken) async throws -> ApplicationLookup {
        written.withLock { $0 = nil }
        let overview = try await authority.overview(of: token)
        return ApplicationLookup(overview: overview, local: localActivation(of: token))
    }

    /// What this workstation holds of `token`: a parked activation, a written profile, or nothing.
    public func localActivation(of token: ApplicationToken) -> LocalActivation {
        if activator.hasParkedActivation(for: token) { return .parked }
        if let profile = activator.completedProfile(for: token) { return .profileWritten(profile) }
        return .none
    }

    /// "Recover my digital signature": the authority emails a recovery link if the address is known.
    ///
    /// The person trusts the authority whose CA has `fingerprint` (compared with the one published).
    public func trustAuthority(fingerprint: String) async throws {
        try await authority.trustAuthority(fingerprint: fingerprint)
    }

    public func requestRecovery(email: String) async throws {
        try await authority.requestRecovery(email: email)
    }

    // MARK: - Local checks (nothing spent)

    /// The password rules that can be checked before the identity check (all but "not your name or
    /// email", which need the subscriber): length, common passwords, confirmation.
    public func checkPasswordLocally(_ password: Password, confirmation: Password) throws(ActivationError) {
        let check = passwordPolicy.evaluate(password, confirmation: confirmation, name: "", email: "")
        guard check.isAcceptable else { throw ActivationError(.passwordRejected(check.unmet)) }
    }

    /// Every password rule, once the subscriber is known.
    public func checkPassword(_ password: Password, confirmation: Password, for subscriber: Subscriber) throws(ActivationError) {
        try passwordPolicy.validate(password, confirmation: confirmation, name: subscriber.name, email: subscriber.email)
    }

    // MARK: - Step 2

    /// The identity check.
    ///
    /// Meanwhile a key of `algorithm` is generated for step 5 (slow, and independent of the answers), so
    /// the two cores share the work; and, when the profile's password is already known (`password`: it
    /// passed the local checks), its keys are derived too.
    public func verifyIdentity(
        token: ApplicationToken, answers: [SecurityAnswer], pregenerate algorithm: KeyAlgorithm = .default,
        password: Password? = nil
    ) async throws -> IdentityVerification {
        if let password {
            prepareKeyAndProfileKeys(for: token, algorithm: algorithm, password: password)
        } else {
            pregenerateKey(for: token, algorithm: algorithm)
        }
        do {
            return try await authority.verifyIdentity(token: token, answers: answers)
        } catch {
            discardPregeneratedKeys(for: token)
            throw error
        }
    }

    /// Starts generating a key of `algorithm` for `token` in the background (once).
    public func pregenerateKey(for token: ApplicationToken, algorithm: KeyAlgorithm) {
        pregenerated.withLock { keys in
            let name = "\(token.value).\(algorithm.rawValue)"
            if keys[name] == nil {
                keys[name] = Task.detached(priority: .userInitiated) { try SigningKey.generate(algorithm) }
            }
        }
    }

    /// Starts generating the key and then deriving the profile's keys for `password`, one after the other on one thread
    /// (once per application): the identity check's answer hashes — on this machine with the embedded authority —
    /// have the other core, and a chain that shares it would slow them (docs/benchmarks.md, activate's floor).
    private func prepareKeyAndProfileKeys(for token: ApplicationToken, algorithm: KeyAlgorithm, password: Password) {
        let cost = self.cost
        let name = "\(token.value).\(algorithm.rawValue)"
        let chain = Task.detached(priority: .userInitiated) {
            let key = try SigningKey.generate(algorithm)
            return (key, try ProfileKeys.derive(password: password.revealed, cost: cost, oneCore: true))
        }
        pregenerated.withLock { keys in
            if keys[name] == nil { keys[name] = Task { try await chain.value.0 } }
        }
        prepared.withLock { tasks in
            if tasks[token.value] == nil { tasks[token.value] = Task { try await chain.value.1 } }
        }
    }

    private func takePreparedKeys(for token: ApplicationToken) async -> ProfileKeys? {
        let task = prepared.withLock { $0.removeValue(forKey: token.value) }
        return try? await task?.value
    }

    private func takePregeneratedKey(for token: ApplicationToken, algorithm: KeyAlgorithm) async -> SigningKey? {
        let task = pregenerated.withLock { $0.removeValue(forKey: "\(token.value).\(algorithm.rawValue)") }
        return try? await task?.value
    }

    private func discardPregeneratedKeys(for token: ApplicationToken) {
        let tasks = pregenerated.withLock { keys in
            let mine = keys.filter { $0.key.hasPrefix(token.value + ".") }
            for name in mine.keys { keys.removeValue(forKey: name) }
            return Array(mine.values)
        }
        for task in tasks { task.cancel() }
        prepared.withLock { _ = $0.removeValue(forKey: token.value) }
    }

    // MARK: - Step 3

    /// Runs every component check.
    public func checkComponents() async -> [ComponentReport] { await components.check() }

    /// Installs the activation manager (profile store and trust store).
    public func installActivationManager() async throws { try await components.installActivationManager() }

    /// Step 3 without screens: checks, installs the activation manager if it is missing, and reports
    /// each component as it stands; throws if one cannot be made to work.
    public func prepareComponents(report: @Sendable (ComponentReport, _ installedNow: Bool) -> Void) async throws {
        for component in await components.check() {
            if component.status.isInstalled {
                report(component, false)
                continue
            }
            guard component.installable else { throw WorkstationError(.componentFailed, component.kind.rawValue, suggesting: paths.commandOptions) }
            try await components.installActivationManager()
            let recheck = await components.checkActivationManager()
            guard recheck.status.isInstalled else {
                throw WorkstationError(.componentFailed, component.kind.rawValue, suggesting: paths.commandOptions)
            }
            report(recheck, true)
        }
    }

    // MARK: - Step 4

    /// Replaces expired (or blocked) codes; the new reference number goes out by mail.
    public func renewCodes(token: ApplicationToken, authorization: AuthorizationCode) async throws -> RenewalReceipt {
        try await authority.renewCodes(token: token, authorization: authorization)
    }

    // MARK: - Step 5

    /// "Download and Activate": the key (pre-generated, parked from an interrupted run, or new), parked
    /// sealed under the password before the authority sees the CSR, the certificate, the profile files.
    ///
    /// The person then logs in (`logIn`).
    public func activate(_ request: ActivationRequest, progress: @Sendable (ActivationProgress) -> Void = { _ in }) async throws -> ProfileFiles {
        try checkPassword(request.password, confirmation: request.password, for: request.subscriber)
        let pregenerated = await takePregeneratedKey(for: request.token, algorithm: request.keyAlgorithm)
        let prepared = await takePreparedKeys(for: request.token)
        discardPregeneratedKeys(for: request.token)
        let (files, keys) = try await activator.issueAndWrite(request, pregenerated: pregenerated, prepared: prepared, progress: progress)
        written.withLock { $0 = (files.profile, keys) }
        return files
    }

    /// Finishes the activation parked on this workstation for `token`, with the password it was
    /// sealed under; the identity check and the codes behind it were spent by the interrupted run.
    public func finishParked(token: ApplicationToken, password: Password, progress: @Sendable (ActivationProgress) -> Void = { _ in }) async throws
        -> ProfileFiles
    {
        guard activator.hasParkedActivation(for: token) else {
            // Finished meanwhile (by another front end): the profile it wrote is what remains.
            if let profile = activator.completedProfile(for: token) {
                return ProfileFiles(profile: profile, certificate: Self.certificateFile(of: profile))
            }
            throw ActivationError(.alreadyActivated)
        }
        guard let (request, key) = activator.parkedRequest(for: token, password: password) else {
            throw KeystoreError(.wrongPassword, "the password does not open the parked activation")
        }
        let (files, keys) = try await activator.issueAndWrite(request, pregenerated: nil, parked: key, progress: progress)
        written.withLock { $0 = (files.profile, keys) }
        return files
    }

    /// Logs in to a profile: decrypt, check the MAC, the key against the certificate, the chain to the
    /// trusted CA.
    ///
    /// Returns the summary with the file paths.
    public func logIn(profile: URL, password: Password) async throws -> ActivationSummary {
        // The log-in right after this process wrote the profile reuses the derivations it wrote it with.
        let known = written.withLock { last -> ProfileKeys? in
            defer { last = nil }
            return last?.profile.standardizedFileURL == profile.standardizedFileURL ? last?.keys : nil
        }
        let summary = try await activator.login(profile: profile, password: password, known: known)
        try await ensureNotRevoked(serialHex: summary.serialHex)
        var result = summary.activationSummary(profile: profile, certificate: Self.certificateFile(of: profile))
        result.updateDue = summary.notAfter.timeIntervalSince(now()) < updateWindow
        return result
    }

    /// Refuses a certificate the authority's CRL lists, when the CRL is at hand (an authority that cannot
    /// be reached, or a CRL that does not verify with the trusted CA, is not a verdict).
    func ensureNotRevoked(serialHex: String) async throws {
        guard let der = try? await authority.revocationList(),
            let root = try? Components(paths: paths, authority: authority).trustedRoots().first,
            let crl = try? CertificateRevocationList(derEncoded: der, issuer: root)
        else { return }
        let serial = serialHex.split(separator: ":").compactMap { UInt8($0, radix: 16) }
        if let entry = crl.entry(for: serial) {
            let date = UTCDateTime(entry.revokedAt).iso8601
            throw WorkstationError(.certificateRevoked, "serial \(serialHex), \(date), \(entry.reason.name)")
        }
    }

    /// The certificate file written beside a profile (`NAME.pem` beside `NAME.p12`).
    public static func certificateFile(of profile: URL) -> URL {
        profile.deletingPathExtension().appendingPathExtension("pem")
    }
}
