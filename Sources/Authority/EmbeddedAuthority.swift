import Activation
import AuthorityInterface
import CMP
import CivilTime
import Crypto
import Foundation
import Logging
import ParapheShared
import Synchronization
import X509

/// The certification authority of the embedded mode: registry (SQLite), Maildir outbox, root CA
/// and audit log, all under one data directory on this machine.
///
/// Any number of instances, in one process or several, may share a data directory: every state
/// change is one IMMEDIATE SQLite transaction that reloads the application, applies one rule of
/// `ApplicationState`, stores the result and appends the audit row. Slow work (answer hashing,
/// certificate signing) happens before the transaction, never while holding the write lock.
public final class EmbeddedAuthority: Authority, Sendable {
    /// State changes, at info level; never a secret (tokens are not secrets, answers and codes never appear).
    static let logger = Logger(label: "paraphe.authority")

    let configuration: AuthorityConfiguration
    let registry: any RegistryStore
    let sealer: CodeSealer
    let mailer: Mailer
    let transport: any MailTransport
    let ca: CertificateAuthority
    /// The CMP responder's signing identity (a key and a certificate from `ca`), made at first use.
    let cmpSigner = Mutex<(key: P256.Signing.PrivateKey, certificateDER: [UInt8], notAfter: Date)?>(nil)
    /// The threads the identity checks' answer hashes run on (bounded, with a short queue).
    public let cpu = CPUWorkers()
    /// The CMP enrollments this process answered whose certConf has not come yet.
    let awaiting: AwaitingConfirmations
    /// How many enrollments await their certConf here now (a figure for `/metrics`).
    public var awaitingConfirmations: Int { awaiting.count }

    /// The Maildir the emails go to (`--mail maildir:DIR`, by default `DATA/mail`; messages land in `new/`).
    public let mailDirectory: URL
    /// The root CA certificate, `DATA/ca/ca-cert.pem`.
    public let caCertificateURL: URL

    static let subscriberActor = "subscriber"
    static let authorityActor = "authority"
    /// Fresh token or reference number attempts before giving up (a collision is already rare).
    static let collisionRetries = 16

    /// Opens the data directory, creating what is missing: the directory (0700), `authority.key`,
    /// `registry.sqlite`, `mail/` and the CA under `ca/`.
    public convenience init(configuration: AuthorityConfiguration) throws {
        try self.init(configuration: configuration, registry: nil)
    }

    /// An authority whose registry is elsewhere (a PostgreSQL database several instances share): the data
    /// directory holds its keys (`authority.key`, `ca/`) and `mail/`.
    ///
    /// The CA's fingerprint is recorded in the registry by the first instance; an instance with another CA is
    /// refused.
    package static func open(configuration: AuthorityConfiguration, registry: any RegistryStore) async throws -> EmbeddedAuthority {
        let authority = try EmbeddedAuthority(configuration: configuration, registry: registry)
        let now = configuration.time.now()
        let record =
            authority.caWasCreated
            ? caCreatedRecord(authority.ca, at: now)
            : AuditRecord(
                at: now, actor: authorityActor, event: .caRecorded, token: nil,
                detail: "root CA \(Hex.uppercase(authority.ca.certificate.serialNumber.bytes)) of \(configuration.dataDirectory.path)")
        let recorded = try await registry.recordCAFingerprint(authority.ca.fingerprint, audit: record)
        try ensureSameCA(recorded: recorded, ca: authority.ca, registry: registry.location)
        return authority
    }

    /// Closes the registry's connections (a PostgreSQL pool); nothing to do for SQLite.
    public func close() async {
        await registry.close()
    }

    /// When the CA certificate expires.
    public var caValidUntil: Date { ca.certificate.notValidAfter }

    /// The customer service of this authority's configuration.
    public func customerService() async throws -> CustomerService? { configuration.customerService }

    /// Where the registry is (`sqlite:/path`, `postgres://user@host:port/db`), for the operator.
    public var registryLocation: String { registry.location }

    /// Whether this process created the CA (a new data directory).
    let caWasCreated: Bool

    private init(configuration: AuthorityConfiguration, registry external: (any RegistryStore)?) throws {
        guard configuration.answerHashIterations > 0 else {
            throw AuthorityError(.badRequest, "answerHashIterations must be positive")
        }
        let directory = configuration.dataDirectory.standardizedFileURL
        try Self.prepareDataDirectory(directory)
        let now = configuration.time.now()
        let random = configuration.random
        // One process at a time sets up the directory: key creation, migrations and CA creation.
        let registryFile = configuration.registryFile ?? directory.appendingPathComponent("registry.sqlite")
        let (sealer, registry, ca, created) = try Self.setUp(directory, registry: external, registryFile: registryFile, at: now, random: random)
        self.configuration = configuration
        let time = configuration.time
        self.awaiting = AwaitingConfirmations(now: { time.now() })
        self.sealer = sealer
        self.registry = registry
        self.ca = ca
        self.caWasCreated = created
        self.mailer = Mailer(customerService: configuration.customerService)
        switch configuration.mail {
        case .sendmail(let program):
            self.transport = SendmailTransport(program: program)
            self.mailDirectory = directory.appendingPathComponent("mail")
        case .maildir(let folder):
            self.transport = try MaildirTransport(directory: folder)
            self.mailDirectory = folder
        case nil:
            self.transport = try MaildirTransport(directory: directory.appendingPathComponent("mail"))
            self.mailDirectory = directory.appendingPathComponent("mail")
        }
        self.caCertificateURL = directory.appendingPathComponent("ca").appendingPathComponent("ca-cert.pem")
    }

    /// Opens or creates the authority key, the registry (unless `external`) and the CA, holding `DATA/.lock`.
    private static func setUp(_ directory: URL, registry external: (any RegistryStore)?, registryFile: URL, at now: Date, random: any RandomSource)
        throws
        -> (CodeSealer, any RegistryStore, CertificateAuthority, Bool)
    {
        do {
            return try FileSystem.withExclusiveLock(directory.appendingPathComponent(".lock"), code: .dataDirectory) {
                let sealer = try CodeSealer.loadOrCreate(at: directory.appendingPathComponent("authority.key"), random: random)
                let (ca, created) = try CertificateAuthority.loadOrCreate(in: directory.appendingPathComponent("ca"), at: now, random: random)
                if let external { return (sealer, external, ca, created) }
                let registry = try SQLiteRegistry.open(at: registryFile)
                let recorded = try registry.recordCAFingerprintNow(ca.fingerprint, audit: created ? caCreatedRecord(ca, at: now) : nil)
                try ensureSameCA(recorded: recorded, ca: ca, registry: registry.location)
                return (sealer, registry, ca, created)
            }
        } catch let error as AuthorityError {
            throw error
        } catch {
            throw AuthorityError(.dataDirectory, "cannot set up the data directory")
        }
    }

    static func caCreatedRecord(_ ca: CertificateAuthority, at now: Date) -> AuditRecord {
        AuditRecord(
            at: now, actor: authorityActor, event: .caCreated, token: nil,
            detail: "root CA \(Hex.uppercase(ca.certificate.serialNumber.bytes)), valid until \(iso8601(ca.certificate.notValidAfter))")
    }

    /// Every instance on one registry must hold the CA it was initialised with (its fingerprint is in the registry).
    static func ensureSameCA(recorded: String, ca: CertificateAuthority, registry: String) throws(AuthorityError) {
        guard recorded == ca.fingerprint else {
            throw AuthorityError(
                .otherCA,
                "the registry \(registry) belongs to the CA with SHA-256 fingerprint \(recorded), not to this data directory's (\(ca.fingerprint)); give every instance a copy of the same ca/ca-cert.pem, ca/ca-key.pem and authority.key"
            )
        }
    }

    /// Creates the data directory (0700) if needed; refuses one that others can write to or that
    /// belongs to another user (anyone who can write there can replace the CA or the registry).
    static func prepareDataDirectory(_ url: URL) throws(AuthorityError) {
        try FileSystem.makeDirectory(url, code: .dataDirectory)
        guard let status = try FileSystem.status(url, code: .dataDirectory), status.isDirectory else {
            throw AuthorityError(.dataDirectory, "the data directory is not a directory")
        }
        if status.owner != FileSystem.currentUser {
            throw AuthorityError(.dataDirectory, "the data directory belongs to another user")
        }
        if status.mode & 0o022 != 0 {
            throw AuthorityError(
                .dataDirectory, "the data directory is writable by group or others (mode \(FileSystem.octal(status.mode))); make it 0700")
        }
    }

    /// The authority's clock (injected: every rule, limit and certificate date reads it).
    var now: Date { configuration.time.now() }
    /// The clock itself, for the service's limits and caches.
    public var time: any TimeSource { configuration.time }
    var random: any RandomSource { configuration.random }
    private var operatorActor: String { "operator:\(configuration.operatorName)" }

    // MARK: - Approval

    public func approve(_ request: ApprovalRequest) async throws -> ApprovalReceipt {
        let (subscriber, questions) = try Self.validate(request)
        let hashes = try await AnswerHash.makeAll(request.answers, iterations: configuration.answerHashIterations, random: random)
        let now = self.now
        let approvedAt = request.approvedAt ?? now
        let actor = operatorActor
        for _ in 0..<Self.collisionRetries {
            let token = ApplicationToken.generate(using: random)
            let state = ApplicationState.approved(reference: ReferenceNumber.generate(using: random), at: approvedAt)
            let sealed = try sealer.seal(AuthorizationCode.generate(using: random), for: token)
            let mail = try mailer.prepare(
                .init(kind: .approval, subscriber: subscriber, token: token, reference: state.codes.reference, expiresAt: state.codes.expiresAt),
                at: now, random: random)
            let application = NewApplication(
                token: token, subscriber: subscriber, state: state, approvedAt: approvedAt,
                questions: zip(questions, hashes).map { StoredQuestion(text: $0, hash: $1) }, sealedAuthorization: sealed,
                audit: AuditRecord(
                    at: now, actor: actor, event: .approved, token: token,
                    detail: "language \(subscriber.language.rawValue); codes valid until \(Self.iso8601(state.codes.expiresAt))"),
                mail: mail)
            guard try await registry.insertApplication(application) else { continue }
            Self.logger.info("application approved", metadata: ["application": "\(digest(token))"])
            let sent = await deliverCommitted(mail)
            return ApprovalReceipt(
                token: token, reference: state.codes.reference, expiresAt: state.codes.expiresAt, mailFile: sent.file, mailQueued: sent.queued)
        }
        throw AuthorityError(.storage, "no free application token or reference number found")
    }

    /// Checks an approval request; returns the cleaned subscriber and questions.
    static func validate(_ request: ApprovalRequest) throws -> (Subscriber, [String]) {
        guard request.questions.count == ActivationPolicy.questionCount, request.answers.count == ActivationPolicy.questionCount else {
            throw AuthorityError(.badRequest, "an application needs exactly \(ActivationPolicy.questionCount) security questions and as many answers")
        }
        let name = try InputText.validate(request.subscriber.name, field: .name)
        let email = try InputText.validate(request.subscriber.email, field: .email)
        guard Subscriber.looksLikeEmail(email) else {
            throw AuthorityError(.badRequest, "the email address must look like local@domain (ASCII, no spaces)")
        }
        let questions = try request.questions.map { question throws(ActivationError) in try InputText.validate(question, field: .question) }
        for answer in request.answers {
            _ = try InputText.validate(answer.revealed, field: .answer)
            if answer.normalized.isEmpty { throw ActivationError(.invalidInput(field: .answer, problem: .empty)) }
        }
        return (Subscriber(name: name, email: email, language: request.subscriber.language), questions)
    }

    // MARK: - Steps 1 and 2

    /// Step 1.
    ///
    /// An activated application with a pending recovery shows as `approved`: its link leads through the steps
    /// again (nothing of it changes until the identity check passes).
    public func overview(of token: ApplicationToken) async throws -> ApplicationOverview {
        guard let (row, questions) = try await registry.applicationWithQuestions(token: token) else { throw ActivationError(.unknownApplication) }
        return ApplicationOverview(
            token: row.token, status: row.state.statusForActivation(at: now), language: row.subscriber.language, questions: questions.map(\.text),
            identityAttemptsRemaining: row.state.identityAttemptsRemaining)
    }

    /// How the logs name an application (a keyed digest of its token, never the token: whoever has the token can
    /// go through the steps).
    public func digest(_ token: ApplicationToken) -> String { sealer.logName(token) }

    enum IdentityResult: Sendable {
        case verified(ApplicationRow, AuthorizationCode)
        case failed(remaining: Int)
        case locked
    }

    public func verifyIdentity(token: ApplicationToken, answers: [SecurityAnswer]) async throws -> IdentityVerification {
        guard answers.count == ActivationPolicy.questionCount else {
            throw AuthorityError(.badRequest, "exactly \(ActivationPolicy.questionCount) answers are expected")
        }
        // A blank answer is allowed (2 of 3 suffice) and simply does not match; other bad input is refused
        // without using an attempt.
        for answer in answers where !answer.normalized.isEmpty {
            _ = try InputText.validate(answer.revealed, field: .answer)
        }
        guard let (before, questions) = try await registry.applicationWithQuestions(token: token) else { throw ActivationError(.unknownApplication) }
        let hashes = questions.map(\.hash)
        // Refuse early, before the slow hashing, what the transaction would refuse anyway.
        try before.state.statusForActivation(at: now).ensureActivatable()
        guard hashes.count == ActivationPolicy.questionCount else {
            throw AuthorityError(.storage, "the registry holds \(hashes.count) security questions for this application")
        }
        let nonBlank = zip(answers, hashes).filter { !$0.0.normalized.isEmpty }
        // On the CPU workers, not the cooperative pool; refused (busy) rather than queued without bound.
        let (given, stored) = (nonBlank.map(\.0), nonBlank.map(\.1))
        let matching = try await cpu.run { try AnswerHash.countMatchesNow(given, stored) }

        let now = self.now
        let result: IdentityResult
        do {
            result = try await recordIdentitySubmission(token: token, matching: matching, at: now)
        } catch is RegistryCollision {
            // The pending recovery's reference number became live for another application meanwhile (a draw of 1 in
            // tens of millions): the recovery begins with a fresh one, sent as a new-codes email.
            result = try await recordIdentitySubmissionAfterCollision(token: token, subscriber: before.subscriber, matching: matching, at: now)
        }
        switch result {
        case .failed(let remaining):
            Self.logger.info("identity check failed", metadata: ["application": "\(digest(token))", "remaining": "\(remaining)"])
            throw ActivationError(.wrongAnswers(remaining: remaining))
        case .locked:
            Self.logger.notice("identity locked", metadata: ["application": "\(digest(token))"])
            throw ActivationError(.identityLocked)
        case .verified(let row, let authorization):
            Self.logger.info("identity verified", metadata: ["application": "\(digest(token))"])
            let codes = row.state.codes
            let reason: ActivationError? =
                codes.isBlocked
                ? ActivationError(.renewalRequired)
                : codes.isExpired(at: now) ? ActivationError(.codesExpired(expiredAt: codes.expiresAt)) : nil
            return IdentityVerification(
                subscriber: row.subscriber, authorization: authorization, codesIssuedAt: codes.issuedAt,
                codesExpireAt: codes.expiresAt, renewalNeeded: reason != nil, renewalReason: reason)
        }
    }

    /// Records one identity submission of which `matching` answers matched, in one transaction: reload the
    /// application (another process may have counted attempts since it was read), apply the domain rule, save,
    /// audit; on success, unseal the authorization code.
    ///
    /// A success with a pending recovery begins the recovery here and only here: the recovery's codes go live (the
    /// previous pair dies), the current certificate's holder loses its powers (`kur`), and that certificate is
    /// revoked once the new profile is confirmed. `replacement`: the reference number (and its email) to begin the
    /// recovery with instead of the pending one's.
    func recordIdentitySubmission(
        token: ApplicationToken, matching: Int, at now: Date, replacement: (ReferenceNumber, OutgoingMail)? = nil
    ) async throws -> IdentityResult {
        let sealer = self.sealer
        return try await registry.update(token: token) { row -> RegistryChange<IdentityResult> in
            let failuresBefore = row.state.identityFailures
            switch try row.state.submitAnswers(matching: matching, at: now) {
            case .verified:
                return RegistryChange(
                    .verified(row, try sealer.open(row.sealedAuthorization, for: token)), save: failuresBefore != row.state.identityFailures,
                    audit: [
                        AuditRecord(
                            at: now, actor: Self.subscriberActor, event: .identityVerified, token: token,
                            detail: "\(matching) of \(ActivationPolicy.questionCount) answers matched")
                    ])
            case .verifiedForRecovery:
                guard let pending = row.recoveryCodes else { throw AuthorityError(.storage, "the registry lost a pending recovery's codes") }
                let reference = replacement?.0 ?? pending.reference
                row.recoveringSerial = row.recoveringSerial ?? row.certificateSerial
                row.state.beginRecovery(reference: reference, at: now)
                row.recoveryCodes = nil
                var change = RegistryChange(
                    IdentityResult.verified(row, try sealer.open(pending.sealedAuthorization, for: token)), save: true,
                    audit: [
                        AuditRecord(
                            at: now, actor: Self.subscriberActor, event: .identityVerified, token: token,
                            detail: "\(matching) of \(ActivationPolicy.questionCount) answers matched"),
                        AuditRecord(
                            at: now, actor: Self.subscriberActor, event: .recoveryStarted, token: token,
                            detail:
                                "the recovery's codes are live; certificate \(row.recoveringSerial ?? "?") is kept until the new profile is confirmed"
                        ),
                    ])
                change.newCodes = NewCodes(reference: reference, sealedAuthorization: pending.sealedAuthorization, issuedAt: row.state.codes.issuedAt)
                change.mail = replacement?.1
                return change
            case .failed(let remaining):
                return RegistryChange(
                    .failed(remaining: remaining), save: true,
                    audit: [AuditRecord(at: now, actor: Self.subscriberActor, event: .identityFailed, token: token, detail: "remaining \(remaining)")]
                )
            case .locked:
                return RegistryChange(
                    .locked, save: true,
                    audit: [
                        AuditRecord(
                            at: now, actor: Self.subscriberActor, event: .identityLocked, token: token,
                            detail: "\(row.state.identityFailures) failed attempts")
                    ])
            }
        }
    }

    /// `recordIdentitySubmission` with fresh reference numbers (and their email), after a collision.
    private func recordIdentitySubmissionAfterCollision(
        token: ApplicationToken, subscriber: Subscriber, matching: Int, at now: Date
    ) async throws -> IdentityResult {
        for _ in 0..<Self.collisionRetries {
            let reference = ReferenceNumber.generate(using: random)
            let mail = try mailer.prepare(
                .init(
                    kind: .renewal, subscriber: subscriber, token: token, reference: reference,
                    expiresAt: CodesState(reference: reference, issuedAt: now).expiresAt),
                at: now, random: random)
            do {
                let result = try await recordIdentitySubmission(token: token, matching: matching, at: now, replacement: (reference, mail))
                _ = await deliverCommitted(mail)
                return result
            } catch is RegistryCollision {
                continue
            }
        }
        throw AuthorityError(.storage, "no free reference number found")
    }

    // MARK: - Step 4

    public func renewCodes(token: ApplicationToken, authorization: AuthorizationCode) async throws -> RenewalReceipt {
        guard let before = try await registry.application(token: token) else { throw ActivationError(.unknownApplication) }
        // Only the holder of the current authorization code (released by the identity check) may renew.
        let current = try sealer.open(before.sealedAuthorization, for: token)
        guard constantTimeEqual(Array(current.revealed.utf8), Array(authorization.revealed.utf8)) else {
            throw ActivationError(.identityNotVerified)
        }
        try before.state.ensureActivatable()

        let now = self.now
        let subscriber = before.subscriber
        for _ in 0..<Self.collisionRetries {
            let reference = ReferenceNumber.generate(using: random)
            let newCode = AuthorizationCode.generate(using: random)
            let sealed = try sealer.seal(newCode, for: token)
            let expiresAt = CodesState(reference: reference, issuedAt: now).expiresAt
            let mail = try mailer.prepare(
                .init(kind: .renewal, subscriber: subscriber, token: token, reference: reference, expiresAt: expiresAt),
                at: now, random: random)
            do {
                try await registry.update(token: token) { row -> RegistryChange<Void> in
                    // The pair the caller proved it holds was replaced meanwhile (a concurrent renewal).
                    guard row.codeID == before.codeID else { throw ActivationError(.identityNotVerified) }
                    try row.state.renew(newReference: reference, at: now)
                    // The previous pair is dead at once.
                    var change = RegistryChange(())
                    change.newCodes = NewCodes(reference: reference, sealedAuthorization: sealed, issuedAt: now)
                    change.mail = mail
                    change.audit = [
                        AuditRecord(
                            at: now, actor: Self.subscriberActor, event: .codesRenewed, token: token,
                            detail:
                                "renewal \(row.state.renewalsInWindow(at: now).count) of \(ActivationPolicy.renewalsPerWindow) in 24 h; codes valid until \(Self.iso8601(expiresAt))"
                        )
                    ]
                    return change
                }
            } catch is RegistryCollision {
                continue
            }
            Self.logger.info("codes renewed", metadata: ["application": "\(digest(token))"])
            let sent = await deliverCommitted(mail)
            return RenewalReceipt(
                authorization: newCode, issuedAt: now, expiresAt: expiresAt, maskedEmail: maskedEmail(subscriber.email),
                mailFile: sent.file)
        }
        throw AuthorityError(.storage, "no free reference number found")
    }

    // MARK: - Step 5

    private enum IssueResult: Sendable {
        case issued(der: [UInt8], serial: String)
        case refused(ActivationError)
    }

    public func issueCertificate(
        token: ApplicationToken, reference: ReferenceNumber, authorization: AuthorizationCode, csrDER: [UInt8]
    ) async throws -> IssuedCertificate {
        let request = try VerifiedRequest(der: csrDER)
        return try await redeem(token: token, reference: reference, key: request) { stored in
            constantTimeEqual(Array(stored.revealed.utf8), Array(authorization.revealed.utf8))
        }.issued
    }

    /// What a CMP request's password-based MAC is checked with: the application and its authorization
    /// code.
    ///
    /// With `token` (Paraphe's client names the application it went through the steps for), that
    /// application, whatever `reference` says, so a mistyped reference number counts against it; without
    /// (any other CMP client), the application whose live codes carry `reference`. Nil: neither exists.
    /// The code never leaves this process except as the MAC key. The row read serves the rest of the
    /// message (the rules themselves run again on the row under lock).
    func enrollmentSecret(reference: ReferenceNumber, token: ApplicationToken?) async throws -> (
        row: ApplicationRow, authorization: AuthorizationCode
    )? {
        let owner: ApplicationToken?
        if let token { owner = token } else { owner = try await registry.tokenOfLiveReference(reference) }
        guard let owner, let row = try await registry.application(token: owner) else { return nil }
        return (row, try sealer.open(row.sealedAuthorization, for: row.token))
    }

    /// Step 5 by CMP (`ir`, `cr`, `p10cr`) once the caller checked the request's proof of possession and its MAC
    /// under the code from `enrollmentSecret`: the same rules as `issueCertificate` (a wrong reference number with
    /// the right code counts toward the 5-in-a-row limit; a request for the key already activated gets the same
    /// certificate again).
    ///
    /// `application`: the row `enrollmentSecret` read (the certificate is signed from it before the lock; the rules
    /// run on the row as it is under lock). A request whose MAC did not verify never gets here.
    ///
    /// Returns the certificate and its serial.
    func enroll(_ application: ApplicationRow, reference: ReferenceNumber, publicKeyInfoDER: [UInt8]) async throws -> (
        issued: IssuedCertificate, serial: String
    ) {
        let key = try VerifiedRequest(publicKeyInfoDER: publicKeyInfoDER)
        return try await redeem(token: application.token, reference: reference, key: key, before: application) { _ in true }
    }

    /// Until when `client`'s CMP requests that do not name their application are refused (`SenderPolicy`), or nil.
    func senderRefusedUntil(_ client: ClientAddress) async throws -> Date? {
        let now = self.now
        let failures = try await registry.senderFailures(client: client.key, since: now - SenderPolicy.window)
        guard failures.count >= SenderPolicy.failures else { return nil }
        return failures[failures.count - SenderPolicy.failures] + SenderPolicy.window
    }

    /// Counts one CMP request from `client` that proved no code.
    func recordSenderFailure(_ client: ClientAddress) async throws {
        try await registry.recordSenderFailure(client: client.key, at: now, window: SenderPolicy.window)
    }

    /// Records what the requester said of the certificate `application` (as just read) holds, received by
    /// CMP (`certConf`): an audit row and nothing else, so no lock is taken.
    func recordConfirmation(token: ApplicationToken, serial: String, accepted: Bool, certificateMatches: Bool) async throws {
        let detail =
            certificateMatches
            ? (accepted ? "serial \(serial) confirmed by the requester" : "serial \(serial) rejected by the requester")
            : "confirmation for a certificate this authority did not issue to the application"
        try await registry.appendAudit(
            AuditRecord(at: now, actor: Self.subscriberActor, event: .certificateConfirmed, token: token, detail: detail))
    }

    /// The application's row as it is now (no lock).
    func application(_ token: ApplicationToken) async throws -> ApplicationRow? {
        try await registry.application(token: token)
    }

    private func redeem(
        token: ApplicationToken, reference: ReferenceNumber, key request: VerifiedRequest, before read: ApplicationRow? = nil,
        authorizationMatches: @escaping @Sendable (AuthorizationCode) -> Bool
    ) async throws -> (issued: IssuedCertificate, serial: String) {
        let now = self.now
        let known: ApplicationRow? = if let read { read } else { try await registry.application(token: token) }
        guard let before = known else { throw ActivationError(.unknownApplication) }
        // Sign before taking the write lock; the certificate is kept only if the redemption is accepted.
        let ca = self.ca
        let random = self.random
        let prepared: (der: [UInt8], serial: String)? =
            before.state.status == .approved
            ? try ca.issue(publicKey: request.publicKey, name: before.subscriber.name, email: before.subscriber.email, at: now, random: random)
            : nil
        let sealer = self.sealer
        // From the row as read: written in one statement unless another request changed it meanwhile.
        let result = try await registry.update(token: token, basis: before) { row -> RegistryChange<IssueResult> in
            let matches = authorizationMatches(try sealer.open(row.sealedAuthorization, for: token))
            let original = row.state
            do {
                switch try row.state.redeem(reference: reference, authorizationMatches: matches, keyDigest: request.keyDigest, at: now) {
                case .accepted:
                    let certificate =
                        try prepared
                        ?? ca.issue(publicKey: request.publicKey, name: row.subscriber.name, email: row.subscriber.email, at: now, random: random)
                    row.activatedAt = now
                    row.certificateSerial = certificate.serial
                    row.certificateDER = certificate.der
                    var change = RegistryChange(
                        IssueResult.issued(der: certificate.der, serial: certificate.serial), save: true,
                        audit: [
                            AuditRecord(
                                at: now, actor: Self.subscriberActor, event: .certificateIssued, token: token, detail: "serial \(certificate.serial)")
                        ])
                    change.certificate = (certificate.serial, certificate.der, now)
                    return change
                case .replay:
                    guard let der = row.certificateDER else {
                        throw AuthorityError(.storage, "the registry lost the certificate of an activated application")
                    }
                    return RegistryChange(
                        .issued(der: der, serial: row.certificateSerial ?? "?"),
                        audit: [
                            AuditRecord(
                                at: now, actor: Self.subscriberActor, event: .certificateReissued, token: token,
                                detail: "serial \(row.certificateSerial ?? "?")")
                        ])
                }
            } catch let refusal as ActivationError {
                var change = RegistryChange(IssueResult.refused(refusal))
                if row.state != original {
                    // A wrong reference number counts toward the 5-in-a-row limit: keep the count.
                    change.save = true
                    change.audit = [
                        AuditRecord(
                            at: now, actor: Self.subscriberActor, event: .referenceRejected, token: token,
                            detail: "\(row.state.codes.wrongReferences) wrong in a row" + (row.state.codes.isBlocked ? "; renewal required" : ""))
                    ]
                }
                // The codes that activated this application, presented again with another key: say the
                // codes were used (the domain's `redeem` reports the activated status first).
                if refusal.code == .alreadyActivated, row.state.codes.used, matches, reference == row.state.codes.reference {
                    change.result = .refused(ActivationError(.codesUsed))
                }
                return change
            }
        }
        switch result {
        case .refused(let refusal):
            throw refusal
        case .issued(let der, let serial):
            return (IssuedCertificate(certificateDER: der, chainDER: [ca.certificateDER]), serial)
        }
    }

    public func caCertificateDER() async throws -> [UInt8] {
        ca.certificateDER
    }

    /// The CA's name (the sender of the CMP answers).
    public var caSubject: DistinguishedName { ca.certificate.subject }

    /// The CA certificate, PEM.
    public func caCertificatePEM() async throws -> String {
        try CertificateAuthority.pem(ca.certificate)
    }

    /// A fresh TLS identity for the authority's HTTPS service, issued by this CA for `names` (DNS
    /// names or IP addresses): the certificate and CA chain (PEM) and the new P-256 key (PKCS#8 PEM).
    public func issueTLSIdentity(names: [String]) async throws -> (certificateChainPEM: String, privateKeyPEM: String) {
        guard !names.isEmpty,
            names.allSatisfy({ !$0.isEmpty && $0.count <= 253 && $0.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0.value < 0x7F } })
        else {
            throw AuthorityError(.badRequest, "TLS names must be host names or IP addresses")
        }
        let key = P256.Signing.PrivateKey()
        let now = self.now
        let issued = try ca.issueService(
            publicKey: Certificate.PublicKey(key.publicKey), commonName: names[0], names: names, usage: .serverAuth, at: now, random: random)
        try await registry.appendAudit(
            AuditRecord(
                at: now, actor: Self.authorityActor, event: .tlsCertificateIssued, token: nil,
                detail: "serial \(issued.serial) for \(names.joined(separator: ", "))"))
        let chain = try CertificateAuthority.pem(Certificate(derEncoded: issued.der)) + CertificateAuthority.pem(ca.certificate)
        return (chain, key.pemRepresentation + "\n")
    }

    // MARK: - Mail

    /// How long an instance holds an email it is delivering before another may try it.
    static let mailLease: TimeInterval = 60

    /// Right after the commit that put `mail` in the outbox: delivers it unless another instance holds it.
    ///
    /// A failure leaves it in the outbox (`deliverPendingMail` tries again); the file when it went to a Maildir.
    func deliverCommitted(_ mail: OutgoingMail) async -> (file: URL?, queued: Bool) {
        configuration.checkpoint(.mailCommitted)
        let delivered = await deliver(ids: [mail.id])
        // Then any email left waiting by an earlier failure (or a process that died), so a single machine
        // with no running service sends them too.
        if delivered[mail.id] != nil, (try? await registry.pendingMailCount()) ?? 0 > 0 { await deliverPendingMail() }
        guard let file = delivered[mail.id] else { return (nil, true) }
        return (file, false)
    }

    /// Delivers every email waiting in the outbox that no live instance holds (those of an instance that
    /// died after its commit, or whose delivery failed); returns how many went out.
    @discardableResult
    public func deliverPendingMail() async -> Int {
        await deliver(ids: nil).values.count
    }

    /// Claims, delivers and marks; returns what was delivered (with the Maildir file, if any).
    private func deliver(ids: [String]?) async -> [String: URL?] {
        var delivered: [String: URL?] = [:]
        let claimed: [OutgoingMail]
        do {
            claimed = try await registry.claimMail(ids: ids, at: now, lease: Self.mailLease, limit: 50)
        } catch {
            Self.logger.warning("the outbox cannot be read; its emails wait", metadata: ["reason": "\(error)"])
            return [:]
        }
        let transport = self.transport
        for mail in claimed {
            do {
                // A sendmail process or a Maildir write with fsync: off the cooperative pool.
                let file = try await offThePool { try transport.deliver(mail) }
                try await registry.markDelivered(mail.id, at: now)
                delivered[mail.id] = file
            } catch {
                Self.logger.warning("an email could not be delivered; it stays in the outbox", metadata: ["reason": "\(error)"])
                try? await registry.releaseMail(mail.id)
            }
        }
        return delivered
    }

    /// Emails in the outbox not delivered yet.
    public func pendingMailCount() async throws -> Int {
        try await registry.pendingMailCount()
    }

    // MARK: - Operator

    /// Every application, in approval order (never a secret).
    public func list() async throws -> [ApplicationRecord] {
        let now = self.now
        return try await registry.allApplications().map { record($0, at: now) }
    }

    /// One application (unknown → `ActivationError(.unknownApplication)`).
    public func record(for token: ApplicationToken) async throws -> ApplicationRecord {
        let now = self.now
        guard let row = try await registry.application(token: token) else { throw ActivationError(.unknownApplication) }
        return record(row, at: now)
    }

    func record(_ row: ApplicationRow, at now: Date) -> ApplicationRecord {
        ApplicationRecord(
            token: row.token.formatted, link: row.token.link, name: row.subscriber.name, email: row.subscriber.email,
            language: row.subscriber.language, status: row.state.status,
            identityAttemptsRemaining: row.state.identityAttemptsRemaining, reference: row.state.codes.reference.formatted,
            codesIssuedAt: row.state.codes.issuedAt, codesExpireAt: row.state.codes.expiresAt,
            renewalsLast24h: row.state.renewalsInWindow(at: now).count,
            wrongReferencesInARow: row.state.codes.wrongReferences, approvedAt: row.approvedAt,
            activatedAt: row.activatedAt, certificateSerial: row.certificateSerial, logName: digest(row.token),
            recoveryRequestedAt: row.state.recoveryPending(at: now) ? row.state.recoveryRequestedAt : nil)
    }

    /// The whole audit log, oldest first.
    public func auditLog() async throws -> [AuditEntry] {
        try await registry.auditEntries()
    }

    static func iso8601(_ date: Date) -> String {
        UTCDateTime(date).iso8601
    }
}
