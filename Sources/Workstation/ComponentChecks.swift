import Activation
import AuthorityInterface
import Foundation
import Keystore
import ParapheShared
import SwiftASN1
import X509

/// Checks and installs the local components.
public struct Components: Sendable {
    public static let activationManagerVersion = "Paraphe Activation Manager 1.0"

    public let paths: WorkstationPaths
    public let authority: any Authority
    /// The profile folder is a fixed destination (a kiosk's `--profile-dir`, removable media).
    ///
    /// Paraphe never creates it, never changes its mode, and writes no profile anywhere else.
    ///
    /// If it is missing or read-only, the check fails with that reason and nothing is offered to
    /// install.
    public let fixedProfileDirectory: Bool
    /// Whether the keystore provider's check includes the PKCS#11 module's self-test.
    public let provider: ProviderCheck

    public init(paths: WorkstationPaths, authority: any Authority, fixedProfileDirectory: Bool = false, provider: ProviderCheck = .notChecked) {
        self.paths = paths
        self.authority = authority
        self.fixedProfileDirectory = fixedProfileDirectory
        self.provider = provider
    }

    /// Runs every check.
    public func check() async -> [ComponentReport] {
        let manager = await checkActivationManager()
        let keystore = await checkKeystoreProvider()
        return [manager, keystore]
    }

    /// The activation manager: profile store directory (0700, writable) and the authority's CA in the trust store.
    public func checkActivationManager() async -> ComponentReport {
        let status: ComponentStatus
        let directory = paths.profileDirectory
        if fixedProfileDirectory, !FileSystem.isWritableDirectory(directory) {
            // A missing medium is reported, not silently replaced by an empty folder on the workstation.
            let reason =
                FileManager.default.fileExists(atPath: directory.path)
                ? "component.reason.profileStoreNotWritable" : "component.reason.profileFolderMissing"
            return ComponentReport(kind: .activationManager, status: .failed(reason: reason, detail: directory.path), installable: false)
        }
        if !FileManager.default.fileExists(atPath: directory.path) {
            // Install also installs the CA: its fingerprint shows first when the person must confirm it.
            if let fingerprint = await fingerprintToConfirm() {
                status = .failed(reason: "component.reason.confirmFingerprint", detail: fingerprint)
            } else {
                status = .missing(reason: "component.reason.noProfileStore")
            }
        } else if !FileSystem.isWritableDirectory(directory) {
            status = .failed(reason: "component.reason.profileStoreNotWritable", detail: directory.path)
        } else if !fixedProfileDirectory, let mode = FileSystem.mode(of: directory), mode & 0o077 != 0 {
            // (A fixed destination is the operator's choice — removable media often cannot be 0700;
            // the profile file itself is 0600 and encrypted.)
            status = .failed(reason: "component.reason.profileStoreOpen", detail: String(mode, radix: 8))
        } else {
            switch await trustedCAMatchesAuthority() {
            case .some(true): status = .installed(version: Self.activationManagerVersion)
            case .some(false): status = .failed(reason: "component.reason.trustStoreStale", detail: paths.trustedCA.path)
            case .none:
                if let fingerprint = await fingerprintToConfirm() {
                    status = .failed(reason: "component.reason.confirmFingerprint", detail: fingerprint)
                } else {
                    status = .missing(reason: "component.reason.noTrustStore")
                }
            }
        }
        return ComponentReport(kind: .activationManager, status: status, installable: true)
    }

    /// The keystore provider's known-answer self-test, run in a private scratch directory.
    public func checkKeystoreProvider() async -> ComponentReport {
        let scratch = paths.dataDirectory.appendingPathComponent("keystore/selftest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let status: ComponentStatus
        do {
            try FileSystem.makeDirectory(scratch, mode: 0o700)
            var version = try await KeystoreSelfTest.run(in: scratch)
            switch provider {
            case .notChecked:
                break
            case .thisProgram:
                guard let test = ProviderSelfTest.forThisProgram() else {
                    return ComponentReport(
                        kind: .keystoreProvider, status: .failed(reason: "component.reason.providerMissing", detail: "libparaphe-pkcs11.so"),
                        installable: false)
                }
                try test.run(in: scratch)
                // Registration comes after step 5: reported here, not required.
                let registered = (try? ProviderRegistration.forCurrentUser()).map { ProviderToken.loadAll(from: $0.tokenDirectory).count } ?? 0
                version += registered > 0 ? "; PKCS#11 module, registered for \(registered) profile(s)" : "; PKCS#11 module, not registered yet"
            }
            status = .installed(version: version)
        } catch let error as any ParapheError {
            status = .failed(reason: "component.reason.selfTestFailed", detail: error.reason)
        } catch {
            status = .failed(reason: "component.reason.selfTestFailed", detail: "scratch directory")
        }
        return ComponentReport(kind: .keystoreProvider, status: status, installable: false)
    }

    /// Installs (or repairs) the activation manager: creates the profile store with mode 0700 and
    /// puts the authority's CA certificate in the trust store.
    public func installActivationManager() async throws {
        if fixedProfileDirectory, !FileSystem.isWritableDirectory(paths.profileDirectory) {
            throw WorkstationError(.removableProfileFolder, paths.profileDirectory.path)
        }
        do {
            if !fixedProfileDirectory { try FileSystem.makeDirectory(paths.profileDirectory, mode: 0o700) }
            if !fixedProfileDirectory, let mode = FileSystem.mode(of: paths.profileDirectory), mode & 0o077 != 0 {
                chmod(paths.profileDirectory.path, mode & 0o700)
            }
            try FileSystem.makeDirectory(paths.trustStore, mode: 0o700)
        } catch {
            throw WorkstationError(.profileStore, paths.profileDirectory.path, suggesting: paths.commandOptions)
        }
        let der = try await authority.caCertificateDER()
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: der)
        } catch {
            throw WorkstationError(.trustStore, "the authority's CA certificate is damaged", suggesting: paths.commandOptions)
        }
        let pem: String
        do {
            pem = try CertificateFile.pem(certificate: certificate, chain: [])
        } catch {
            throw WorkstationError(.trustStore, "cannot encode the CA certificate", suggesting: paths.commandOptions)
        }
        do {
            try AtomicFile.write(Array(pem.utf8), to: paths.trustedCA, mode: 0o644)
        } catch {
            throw WorkstationError(.trustStore, "cannot write \(paths.trustedCA.path)", suggesting: paths.commandOptions)
        }
    }

    /// The CA certificates in the local trust store.
    public func trustedRoots() throws -> [Certificate] {
        guard let text = try? String(contentsOf: paths.trustedCA, encoding: .utf8) else {
            throw WorkstationError(.trustStore, "no trusted CA in \(paths.trustedCA.path)", suggesting: paths.commandOptions)
        }
        do {
            return try PEMDocument.parseMultiple(pemString: text).map { try Certificate(pemDocument: $0) }
        } catch {
            throw WorkstationError(.trustStore, "the trust store file is damaged", suggesting: paths.commandOptions)
        }
    }

    /// The fingerprint of a CA not installed yet that the person must confirm (nil: nothing to confirm).
    private func fingerprintToConfirm() async -> String? {
        guard await trustedCAMatchesAuthority() == nil else { return nil }
        return (try? await authority.caFingerprintToConfirm()) ?? nil
    }

    private func trustedCAMatchesAuthority() async -> Bool? {
        guard let roots = try? trustedRoots(), !roots.isEmpty else { return nil }
        guard let der = try? await authority.caCertificateDER(), let ca = try? Certificate(derEncoded: der) else { return false }
        return roots.contains(ca)
    }
}
