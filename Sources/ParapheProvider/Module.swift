import CPKCS11
import Keystore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A token: one installed profile, its objects, and (while the person is logged in) its key in locked memory.
struct Token {
    var record: ProviderToken
    var leaf: CertificateFields
    var objects: [TokenObject]
    var key: LockedSigningKey?

    init?(record: ProviderToken) {
        guard let leafDER = record.certificates.first, let leaf = CertificateFields(der: leafDER) else { return nil }
        let chain = record.certificates.dropFirst().compactMap { CertificateFields(der: $0) }
        self.record = record
        self.leaf = leaf
        self.objects = TokenObject.objects(label: record.label, leaf: leaf, chain: chain)
    }
}

struct Session {
    var token: Int
    var find: [CK_OBJECT_HANDLE]?
    var sign: SignOperation?
}

/// Everything the module knows between C_Initialize and C_Finalize.
///
/// Touched only under `Module.lock`.
final class ModuleState {
    var tokens: [Token]
    var sessions: [CK_SESSION_HANDLE: Session] = [:]
    var nextSession: CK_SESSION_HANDLE = 1

    init(tokens: [Token]) { self.tokens = tokens }

    /// Object handles: the token's number (from 1) in the high bits, the object's index (from 1) in the low byte.
    static func handle(token: Int, object: Int) -> CK_OBJECT_HANDLE { CK_OBJECT_HANDLE((token + 1) << 8 | (object + 1)) }

    /// The object a handle names in `token`, if the session may see it (the private key only while logged in).
    func object(_ handle: CK_OBJECT_HANDLE, token: Int) -> TokenObject? {
        guard Int(handle >> 8) == token + 1 else { return nil }
        let index = Int(handle & 0xFF) - 1
        guard tokens[token].objects.indices.contains(index) else { return nil }
        let object = tokens[token].objects[index]
        if object.kind == .privateKey, tokens[token].key == nil { return nil }
        return object
    }

    func logOut(token: Int) {
        tokens[token].key?.wipe()
        tokens[token].key = nil
        for (handle, session) in sessions where session.token == token && session.sign != nil {
            sessions[handle]?.sign = nil
        }
    }

    func wipeAll() {
        for index in tokens.indices { logOut(token: index) }
    }
}

/// The module's one lock and its state.
///
/// The state belongs to the process that called C_Initialize: in a forked child every function answers
/// CKR_CRYPTOKI_NOT_INITIALIZED until the child calls C_Initialize itself (the key's locked pages read as zeros
/// there: the kernel wipes them on fork).
enum Module {
    /// The process that initialized the module (0: none).
    static let initializedBy = Atomic<Int32>(0)
    nonisolated(unsafe) static var state: ModuleState?
    nonisolated(unsafe) static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        return mutex
    }()

    /// Runs `body` on the state under the lock, or answers that the module is not initialized (in this process).
    static func withState(_ body: (ModuleState) -> CK_RV) -> CK_RV {
        guard initializedBy.load(ordering: .acquiring) == getpid() else { return CKR_CRYPTOKI_NOT_INITIALIZED }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard let state else { return CKR_CRYPTOKI_NOT_INITIALIZED }
        return body(state)
    }

    /// Runs `body` with a session and its state.
    static func withSession(_ handle: CK_SESSION_HANDLE, _ body: (ModuleState, inout Session) -> CK_RV) -> CK_RV {
        withState { state in
            guard var session = state.sessions[handle] else { return CKR_SESSION_HANDLE_INVALID }
            let result = body(state, &session)
            if state.sessions[handle] != nil { state.sessions[handle] = session }
            return result
        }
    }

    static func initialize(_ arguments: UnsafeMutableRawPointer?) -> CK_RV {
        if let arguments {
            let given = arguments.assumingMemoryBound(to: CK_C_INITIALIZE_ARGS.self).pointee
            guard given.pReserved == nil else { return CKR_ARGUMENTS_BAD }
            let callbacks = [given.CreateMutex != nil, given.DestroyMutex != nil, given.LockMutex != nil, given.UnlockMutex != nil]
            guard callbacks.allSatisfy({ $0 }) || callbacks.allSatisfy({ !$0 }) else { return CKR_ARGUMENTS_BAD }
            // Host-supplied mutex functions without CKF_OS_LOCKING_OK: the module locks with the system's mutex only.
            if callbacks[0], given.flags & CK_FLAGS(CKF_OS_LOCKING_OK) == 0 { return CKR_CANT_LOCK }
        }
        let process = getpid()
        if initializedBy.load(ordering: .acquiring) != process, initializedBy.load(ordering: .acquiring) != 0 {
            // A forked child: the parent's lock may have been held by a thread that does not exist here.
            pthread_mutex_init(mutex, nil)
            state = nil
            initializedBy.store(0, ordering: .releasing)
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard state == nil else { return CKR_CRYPTOKI_ALREADY_INITIALIZED }
        let records = ProviderToken.directory().map { ProviderToken.loadAll(from: $0) } ?? []
        state = ModuleState(tokens: records.compactMap(Token.init(record:)))
        initializedBy.store(process, ordering: .releasing)
        return CKR_OK
    }

    static func finalize(_ reserved: UnsafeMutableRawPointer?) -> CK_RV {
        guard reserved == nil else { return CKR_ARGUMENTS_BAD }
        return withState { current in
            current.wipeAll()
            state = nil
            initializedBy.store(0, ordering: .releasing)
            return CKR_OK
        }
    }
}
