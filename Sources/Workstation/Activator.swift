import Activation
import AuthorityInterface
import CMP
import Crypto
import Foundation
import Keystore
import Logging
import ParapheShared
import SwiftASN1
import X509

/// A parked activation's key with the profile bags' key that sealed it (nil for a file of the first format).
struct ReadyKey: Sendable {
    let key: SigningKey
    let bag: BagKey?
}

extension ProfileSummary {
    /// The summary as plain values for the screens, with the file paths.
    public func activationSummary(profile: URL?, certificate: URL?) -> ActivationSummary {
        ActivationSummary(certificate: self, profileFile: profile, certificateFile: certificate)
    }
}

/// The activation's file work (step 5), behind `ActivationService`: key, CSR, certificate, profile, login.
///
/// Crash safety: the new key is parked encrypted (PKCS#8 PBES2, under the person's password) in
/// `keystore/pending/` before the authority sees the CSR; the authority re-issues the same
/// certificate for the same key; the profile files are written atomically; the parked key is
/// deleted only once the profile is on disk. A rerun with the same password picks the parked key up.
struct Activator: Sendable {
    static let logger = Logger(label: "paraphe.workstation")

    let paths: WorkstationPaths
    let authority: any Authority
    let cost: KDFCost
    /// Hears each named moment of an activation as it is reached.
    let checkpoint: @Sendable (ActivationCheckpoint) -> Void
    /// The clock (the service's): chains are checked and confirmations dated by it.
    let now: @Sendable () -> Date
    /// A kiosk's `--profile-dir` on removable media: when it is missing, the advice is to plug it back in.
    var fixedProfileDirectory = false

    /// Generates (or resumes) the key, has the authority issue the certificate, and writes the profile
    /// files.
    ///
    /// The person then logs in to the profile (`login`). `parked`: the key already opened from the parked
    /// activation (finishing it), so the password is not derived a second time; `prepared`: the profile's
    /// keys derived ahead (while the identity check ran), used when they are for this password. Returns
    /// the files and the keys they were written with.
    func issueAndWrite(
        _ request: ActivationRequest, pregenerated: SigningKey?, prepared: ProfileKeys? = nil, parked: ReadyKey? = nil,
        progress: @Sendable (ActivationProgress) -> Void
    ) async throws -> (ProfileFiles, ProfileKeys) {
        guard FileSystem.isWritableDirectory(paths.profileDirectory) else {
            throw WorkstationError(
                fixedProfileDirectory ? .removableProfileFolder : .profileStore, paths.profileDirectory.path, suggesting: paths.commandOptions)
        }
        Self.logger.debug("activation starts", metadata: ["key": "\(request.keyAlgorithm.rawValue)"])
        progress(.generatingKey)
        let (key, keys) =
            try parked.map { try ($0.key, profileKeys(for: request.password, bag: $0.bag)) }
            ?? key(for: request, pregenerated: pregenerated, prepared: prepared)
        // Parked, encrypted, before the authority sees the CSR.
        try park(key, for: request, with: keys.bag)
        checkpoint(.keyParked)

        progress(.requestingCertificate)
        let csr = try CertificateRequest.make(key: key, commonName: request.subscriber.name, email: request.subscriber.email)
        let issued = try await authority.issueCertificate(
            token: request.token, reference: request.reference, authorization: request.authorization, csrDER: csr)
        checkpoint(.certificateIssued)
        let certificate: Certificate
        let chain: [Certificate]
        do {
            certificate = try Certificate(derEncoded: issued.certificateDER)
            chain = try issued.chainDER.map { try Certificate(derEncoded: $0) }
        } catch {
            throw WorkstationError(.profileWrite, "the authority returned a damaged certificate")
        }
        guard key.matches(certificate) else { throw WorkstationError(.profileWrite, "the certificate is not for this key") }

        progress(.writingProfile)
        let (profileFile, certificateFile) = try profileFiles(for: request.subscriber, certificate: certificate)
        removeStaleTemporaryFiles(of: [profileFile, certificateFile])
        let contents = PKCS12Contents(key: key, certificate: certificate, chain: chain, friendlyName: request.subscriber.name)
        let p12 = try PKCS12.write(contents, keys: keys)
        let pem = try CertificateFile.pem(certificate: certificate, chain: chain)
        try AtomicFile.write(Array(pem.utf8), to: certificateFile, mode: 0o644)
        checkpoint(.certificateFileWritten)
        try AtomicFile.write(p12, to: profileFile, mode: 0o600)
        checkpoint(.profileWritten)
        try recordProfile(profileFile, for: request.token)
        markUnconfirmed(certificate)
        Self.logger.info("profile written", metadata: ["profile": "\(profileFile.path)"])
        try? FileManager.default.removeItem(at: parkedKeyURL(for: request.token))
        return (ProfileFiles(profile: profileFile, certificate: certificateFile), keys)
    }

    /// Logs in to a profile: decrypt, MAC, key ↔ certificate, chain to the trusted CA.
    ///
    /// `known`: the keys this process just wrote it with (their derivations are not run again when every
    /// input matches).
    func login(profile: URL, password: Password, known: ProfileKeys? = nil) async throws -> ProfileSummary {
        let roots = try Components(paths: paths, authority: authority).trustedRoots()
        // Read once: the login's checks, then (once per new certificate) the confirmation signed with its key.
        let contents = try Self.openProfile(profile, password: password, known: known)
        guard contents.key.matches(contents.certificate) else {
            throw KeystoreError.keyMismatch("the private key in the profile does not belong to its certificate")
        }
        try await ProfileLogin.verifyChain(contents.certificate, intermediates: contents.chain, trustRoots: roots, at: now())
        if let root = roots.first { await confirmIfNew(contents, trustedCA: root) }
        return try ProfileSummary(certificate: contents.certificate, keyAlgorithm: contents.key.algorithm)
    }

    /// Reads a profile file and opens it with `password` (every profile operation starts here).
    static func openProfile(_ profile: URL, password: Password, known: ProfileKeys? = nil) throws -> PKCS12Contents {
        try PKCS12.read(try readProfile(profile), password: password.revealed, known: known)
    }

    /// A profile file's bytes.
    static func readProfile(_ profile: URL) throws -> [UInt8] {
        do {
            return Array(try Data(contentsOf: profile))
        } catch {
            throw WorkstationError(.login, "cannot read \(profile.path)")
        }
    }

    // MARK: - Confirmation of a new certificate

    /// `keystore/unconfirmed/SERIAL`: a certificate whose profile was written here and not yet logged in to.
    private func unconfirmedMarker(_ certificate: Certificate) -> URL {
        paths.dataDirectory.appendingPathComponent("keystore/unconfirmed").appendingPathComponent(
            Hex.uppercase(certificate.serialNumber.bytes))
    }

    private func markUnconfirmed(_ certificate: Certificate) {
        let marker = unconfirmedMarker(certificate)
        _ = try? FileSystem.makeDirectory(marker.deletingLastPathComponent(), mode: 0o700)
        _ = FileManager.default.createFile(atPath: marker.path, contents: Data(), attributes: [.posixPermissions: 0o600])
    }

    /// The first log-in to a new profile tells the authority, signed with the new key, that the profile
    /// exists (a recovery's previous certificate is revoked only then).
    ///
    /// Best effort: an authority that cannot be reached is told at the next log-in.
    private func confirmIfNew(_ contents: PKCS12Contents, trustedCA: Certificate) async {
        let marker = unconfirmedMarker(contents.certificate)
        guard FileManager.default.fileExists(atPath: marker.path), let signer = try? ActivationService.signer(contents),
            let ca = try? derBytes(trustedCA)
        else { return }
        let authority = self.authority
        do {
            try await CMPHolderTransaction.confirm(signer: signer, trustedCA: ca, random: { SystemRandomSource().bytes($0) }, now: now()) {
                try await authority.cmp($0)
            }
            try? FileManager.default.removeItem(at: marker)
        } catch {
            Self.logger.warning("the authority could not be told that the new profile exists; it will be at the next log-in")
        }
    }

    // MARK: - Activated profiles

    /// The profile an earlier run activated for `token` on this workstation, if it is still there:
    /// a rerun after a completed activation logs in to it instead of failing.
    func completedProfile(for token: ApplicationToken) -> URL? {
        let marker = paths.activatedProfiles.appendingPathComponent(token.value)
        guard let path = try? String(contentsOf: marker, encoding: .utf8), !path.isEmpty else { return nil }
        let url = URL(fileURLWithPath: path)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    private func recordProfile(_ profile: URL, for token: ApplicationToken) throws {
        do {
            try FileSystem.makeDirectory(paths.activatedProfiles, mode: 0o700)
        } catch {
            throw WorkstationError(.profileWrite, "cannot create \(paths.activatedProfiles.path)")
        }
        try AtomicFile.write(Array(profile.path.utf8), to: paths.activatedProfiles.appendingPathComponent(token.value), mode: 0o600)
    }

    // MARK: - Parked key

    func parkedKeyURL(for token: ApplicationToken) -> URL {
        paths.pendingKeys.appendingPathComponent("\(token.value).parked")
    }

    /// An interrupted activation of `token` parked on this workstation that opens with `password`:
    /// rerunning it (`issueAndWrite` with this request) resumes with the same key, even once the
    /// authority has consumed the codes.
    func parkedRequest(for token: ApplicationToken, password: Password) -> (request: ActivationRequest, key: ReadyKey)? {
        guard let (parked, bag) = openParked(token, password: password),
            let reference = try? ReferenceNumber(parsing: parked.reference),
            let algorithm = KeyAlgorithm(rawValue: parked.algorithm),
            let key = try? SigningKey(pkcs8DER: parked.pkcs8)
        else { return nil }
        let subscriber = Subscriber(name: parked.name, email: parked.email, language: Language(rawValue: parked.language) ?? .en)
        let request = ActivationRequest(
            token: token, subscriber: subscriber, reference: reference,
            authorization: AuthorizationCode(parked.authorization), password: password, keyAlgorithm: algorithm)
        return (request, ReadyKey(key: key, bag: bag))
    }

    /// The parked activation of `token`, opened with `password` (one PBKDF2 at the profile's cost);
    /// nil if there is none, it is damaged, or the password is not the one it was sealed with.
    private func openParked(_ token: ApplicationToken, password: Password) -> (ParkedActivation, BagKey?)? {
        guard let data = try? Data(contentsOf: parkedKeyURL(for: token)) else { return nil }
        return ParkedActivation.open(Array(data), password: password)
    }

    /// Whether an interrupted activation of `token` is parked here.
    func hasParkedActivation(for token: ApplicationToken) -> Bool {
        FileManager.default.fileExists(atPath: parkedKeyURL(for: token).path)
    }

    /// The key for an activation and the profile's keys (the bags' key also seals the parked file): the
    /// key parked by an interrupted run (same password and key type), so the authority re-issues for the
    /// same key; else the pre-generated one or a new one.
    private func key(for request: ActivationRequest, pregenerated: SigningKey?, prepared: ProfileKeys?) throws -> (SigningKey, ProfileKeys) {
        if let (parked, bag) = openParked(request.token, password: request.password),
            parked.algorithm == request.keyAlgorithm.rawValue, let key = try? SigningKey(pkcs8DER: parked.pkcs8)
        {
            return (key, try profileKeys(for: request.password, bag: bag))
        }
        let key = try pregenerated.flatMap { $0.algorithm == request.keyAlgorithm ? $0 : nil } ?? SigningKey.generate(request.keyAlgorithm)
        if let prepared, prepared.iterations == cost.iterations, prepared.isDerived(from: request.password.revealed) {
            return (key, prepared)
        }
        return (key, try profileKeys(for: request.password, bag: nil))
    }

    /// The profile's keys for `password` at this workstation's cost, the bags' key reused when at hand.
    private func profileKeys(for password: Password, bag: BagKey?) throws -> ProfileKeys {
        try ProfileKeys.derive(password: password.revealed, cost: cost, bag: bag?.iterations == cost.iterations ? bag : nil)
    }

    private func park(_ key: SigningKey, for request: ActivationRequest, with bagKey: BagKey) throws {
        let url = parkedKeyURL(for: request.token)
        do {
            try FileSystem.makeDirectory(paths.pendingKeys, mode: 0o700)
        } catch {
            throw WorkstationError(.profileWrite, "cannot create \(paths.pendingKeys.path)")
        }
        let parked = ParkedActivation(
            pkcs8: try key.pkcs8DER(), algorithm: key.algorithm.rawValue, authorization: request.authorization.revealed,
            reference: request.reference.digits, name: request.subscriber.name, email: request.subscriber.email,
            language: request.subscriber.language.rawValue
        )
        try AtomicFile.write(try parked.seal(with: bagKey), to: url, mode: 0o600)
    }

    /// Removes temp files a killed run may have left beside the profile files (AtomicFile names them
    /// `.NAME.<random>.tmp`).
    private func removeStaleTemporaryFiles(of files: [URL]) {
        let directory = paths.profileDirectory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for file in files {
            let prefix = "." + file.lastPathComponent + "."
            for name in names where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
            }
        }
    }

    // MARK: - File names

    /// `NAME.p12` / `NAME.pem`; if a profile of that name holds another certificate, `NAME-2`, `NAME-3`…
    /// An earlier file for the same certificate (a resumed activation) is replaced.
    private func profileFiles(for subscriber: Subscriber, certificate: Certificate) throws -> (URL, URL) {
        let base = subscriber.profileName
        for index in 1...99 {
            let stem = index == 1 ? base : "\(base)-\(index)"
            let p12 = paths.profileDirectory.appendingPathComponent("\(stem).p12")
            let pem = paths.profileDirectory.appendingPathComponent("\(stem).pem")
            let exists = FileManager.default.fileExists(atPath: p12.path) || FileManager.default.fileExists(atPath: pem.path)
            if !exists || holdsCertificate(pem, certificate) { return (p12, pem) }
        }
        throw WorkstationError(.profileWrite, "too many profiles named \(base) in \(paths.profileDirectory.path)")
    }

    private func holdsCertificate(_ pem: URL, _ certificate: Certificate) -> Bool {
        guard let text = try? String(contentsOf: pem, encoding: .utf8),
            let first = try? PEMDocument.parseMultiple(pemString: text).first,
            let existing = try? Certificate(pemDocument: first)
        else { return false }
        return existing == certificate
    }
}
