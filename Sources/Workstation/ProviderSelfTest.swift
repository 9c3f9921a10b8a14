import Activation
import CPKCS11
import Crypto
import Foundation
import Keystore
import ParapheShared

/// Whether step 3 checks the security provider.
public enum ProviderCheck: Sendable {
    /// Not checked (a library use of the pipeline: the keystore's own self-test only).
    case notChecked
    /// This program's module, looked for at each check (installed meanwhile, "Check again" finds it): loaded, logged
    /// in to and signed with, in a child process; the component fails when it is not there.
    case thisProgram
}

/// Step 3's check of the security provider: the module loads, a throwaway profile logs in through it, it signs, and
/// the signature verifies.
///
/// The module reads its tokens from the user's configuration directory, so the signing runs in a child process (this program, `paraphe
/// provider-self-test`, a command not listed in the help) whose configuration directory is a private scratch one holding only the throwaway
/// token: the person's own tokens and databases are never touched.
public struct ProviderSelfTest: Sendable {
    /// The module (`libparaphe-pkcs11.so`).
    public var module: String
    /// The program that runs the child side (this program).
    public var program: String

    public init(module: String, program: String) {
        self.module = module
        self.program = program
    }

    /// The check for this program: the module found beside it, the child being this program itself.
    public static func forThisProgram() -> ProviderSelfTest? {
        guard let module = ProviderRegistration.locateModule(),
            let program = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        else { return nil }
        return ProviderSelfTest(module: module, program: program)
    }

    /// What the child signs.
    static let message = Array("Paraphe keystore provider self-test".utf8)

    /// Runs the check in `scratch` (a private directory, removed by the caller).
    ///
    /// Throws `selfTestFailed` with the reason.
    public func run(in scratch: URL) throws(KeystoreError) {
        let password = Hex.lowercase(SystemRandomSource().bytes(12))
        let throwaway = try KeystoreSelfTest.throwawayProfile(password: password)
        let profile = scratch.appendingPathComponent("provider-selftest.p12")
        let tokens = scratch.appendingPathComponent("paraphe/tokens")
        let token = ProviderToken(label: "paraphe-self-test", profile: profile.path, certificates: [throwaway.certificateDER])
        do {
            try FileManager.default.createDirectory(at: tokens, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try AtomicFile.write(throwaway.p12, to: profile, mode: 0o600)
            try AtomicFile.write(Array(try token.encoded().utf8), to: tokens.appendingPathComponent(token.fileName), mode: 0o600)
        } catch {
            throw .ioFailure("cannot write the provider self-test files")
        }

        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CONFIG_HOME"] = scratch.path
        let child: ChildProcess.Outcome
        do {
            child = try ChildProcess.run(
                program, ["provider-self-test", "--module", module], environment: environment, input: Array((password + "\n").utf8))
        } catch {
            throw .selfTestFailed("the provider self-test could not start")
        }
        let text = String(decoding: child.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard child.status == 0 else {
            throw .selfTestFailed(text.isEmpty ? "the module failed (status \(child.status))" : String(text.prefix(200)))
        }
        guard let bytes = KeystoreSelfTest.bytes(fromHex: text), let signature = try? P256.Signing.ECDSASignature(rawRepresentation: bytes),
            throwaway.publicKey.isValidSignature(signature, for: Self.message)
        else { throw .selfTestFailed("the module's signature does not verify") }
    }

    /// The child side: loads the module, logs in to its one token with `password`, signs `message` with
    /// CKM_ECDSA_SHA256, logs out and finalizes.
    ///
    /// Returns the signature (r‖s).
    public static func signThroughModule(_ module: String, password: String) throws(KeystoreError) -> [UInt8] {
        guard let handle = dlopen(module, RTLD_NOW | RTLD_LOCAL) else { throw .selfTestFailed("the module does not load") }
        defer { dlclose(handle) }
        typealias GetFunctionList = @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<CK_FUNCTION_LIST>?>?) -> CK_RV
        guard let symbol = dlsym(handle, "C_GetFunctionList") else { throw .selfTestFailed("the module has no C_GetFunctionList") }
        var table: UnsafeMutablePointer<CK_FUNCTION_LIST>?
        guard unsafeBitCast(symbol, to: GetFunctionList.self)(&table) == CKR_OK, let functions = table?.pointee else {
            throw .selfTestFailed("C_GetFunctionList failed")
        }
        func check(_ step: String, _ result: CK_RV?) throws(KeystoreError) {
            guard result == CKR_OK else { throw .selfTestFailed("\(step) answered 0x\(String(result ?? CK_RV.max, radix: 16))") }
        }
        var arguments = CK_C_INITIALIZE_ARGS()
        arguments.flags = CK_FLAGS(CKF_OS_LOCKING_OK)
        try check("C_Initialize", functions.C_Initialize?(&arguments))
        defer { _ = functions.C_Finalize?(nil) }
        var slot = CK_SLOT_ID(0)
        var count = CK_ULONG(1)
        try check("C_GetSlotList", functions.C_GetSlotList?(1, &slot, &count))
        guard count == 1 else { throw .selfTestFailed("the module shows \(count) tokens, not the self-test's one") }
        var session = CK_SESSION_HANDLE(0)
        try check("C_OpenSession", functions.C_OpenSession?(slot, CK_FLAGS(CKF_SERIAL_SESSION), nil, nil, &session))
        var pin = Array(password.utf8)
        try check("C_Login", functions.C_Login?(session, CK_USER_TYPE(CKU_USER), &pin, CK_ULONG(pin.count)))
        var keyClass = CK_OBJECT_CLASS(CKO_PRIVATE_KEY)
        var key = CK_OBJECT_HANDLE(0)
        var found = CK_ULONG(0)
        try withUnsafeMutableBytes(of: &keyClass) { (raw) throws(KeystoreError) in
            var template = CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_CLASS), pValue: raw.baseAddress, ulValueLen: CK_ULONG(raw.count))
            try check("C_FindObjectsInit", functions.C_FindObjectsInit?(session, &template, 1))
        }
        try check("C_FindObjects", functions.C_FindObjects?(session, &key, 1, &found))
        try check("C_FindObjectsFinal", functions.C_FindObjectsFinal?(session))
        guard found == 1 else { throw .selfTestFailed("no private key after the log-in") }
        var mechanism = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_ECDSA_SHA256), pParameter: nil, ulParameterLen: 0)
        try check("C_SignInit", functions.C_SignInit?(session, &mechanism, key))
        var data = message
        var signature = [UInt8](repeating: 0, count: 64)
        var length = CK_ULONG(signature.count)
        try check("C_Sign", functions.C_Sign?(session, &data, CK_ULONG(data.count), &signature, &length))
        try check("C_Logout", functions.C_Logout?(session))
        return Array(signature.prefix(Int(length)))
    }
}
