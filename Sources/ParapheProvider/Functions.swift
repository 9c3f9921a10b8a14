import CPKCS11
import Keystore
import ParapheShared

#if canImport(Glibc)
    import Glibc
#endif

/// The module's functions, as the PKCS#11 2.40 standard has them answer.
///
/// Every pointer from the host is checked; nothing here traps on what a host passes.
enum Functions {
    static let manufacturer = "Paraphe"
    static let unavailable = CK_ULONG.max  // CK_UNAVAILABLE_INFORMATION

    /// Writes `text` blank-padded into a fixed-size field (PKCS#11's strings are not NUL-terminated).
    static func pad<Field>(_ text: String, into field: inout Field) {
        withUnsafeMutableBytes(of: &field) { buffer in
            for index in buffer.indices { buffer[index] = 0x20 }
            var utf8 = Array(text.utf8)
            while utf8.count > buffer.count {  // cut on a character boundary
                utf8.removeLast()
                while let last = utf8.last, last & 0xC0 == 0x80 { utf8.removeLast() }
                if let last = utf8.last, last >= 0xC0 { utf8.removeLast() }
            }
            for (index, byte) in utf8.enumerated() { buffer[index] = byte }
        }
    }

    /// The two-call convention for a list of values: with no buffer, the count; else the values or CKR_BUFFER_TOO_SMALL.
    static func answer<T>(_ values: [T], into list: UnsafeMutablePointer<T>?, count: UnsafeMutablePointer<CK_ULONG>?) -> CK_RV {
        guard let count else { return CKR_ARGUMENTS_BAD }
        guard let list else {
            count.pointee = CK_ULONG(values.count)
            return CKR_OK
        }
        guard count.pointee >= CK_ULONG(values.count) else {
            count.pointee = CK_ULONG(values.count)
            return CKR_BUFFER_TOO_SMALL
        }
        for (index, value) in values.enumerated() { list[index] = value }
        count.pointee = CK_ULONG(values.count)
        return CKR_OK
    }

    static func token(of slot: CK_SLOT_ID, in state: ModuleState) -> Int? {
        let index = Int(truncatingIfNeeded: slot) - 1
        return state.tokens.indices.contains(index) ? index : nil
    }

    // MARK: General

    static func getInfo(_ info: UnsafeMutablePointer<CK_INFO>?) -> CK_RV {
        Module.withState { _ in
            guard let info else { return CKR_ARGUMENTS_BAD }
            var value = CK_INFO()
            value.cryptokiVersion = CK_VERSION(major: 2, minor: 40)
            pad(manufacturer, into: &value.manufacturerID)
            value.flags = 0
            pad("Paraphe keystore provider", into: &value.libraryDescription)
            value.libraryVersion = CK_VERSION(major: 1, minor: 0)
            info.pointee = value
            return CKR_OK
        }
    }

    static func getSlotList(_ present: CK_BBOOL, _ list: UnsafeMutablePointer<CK_SLOT_ID>?, _ count: UnsafeMutablePointer<CK_ULONG>?) -> CK_RV {
        Module.withState { state in
            answer(state.tokens.indices.map { CK_SLOT_ID($0 + 1) }, into: list, count: count)
        }
    }

    static func getSlotInfo(_ slot: CK_SLOT_ID, _ info: UnsafeMutablePointer<CK_SLOT_INFO>?) -> CK_RV {
        Module.withState { state in
            guard let token = token(of: slot, in: state) else { return CKR_SLOT_ID_INVALID }
            guard let info else { return CKR_ARGUMENTS_BAD }
            var value = CK_SLOT_INFO()
            pad("Paraphe profile \(state.tokens[token].record.label)", into: &value.slotDescription)
            pad(manufacturer, into: &value.manufacturerID)
            value.flags = CK_FLAGS(CKF_TOKEN_PRESENT)
            value.hardwareVersion = CK_VERSION(major: 1, minor: 0)
            value.firmwareVersion = CK_VERSION(major: 1, minor: 0)
            info.pointee = value
            return CKR_OK
        }
    }

    static func getTokenInfo(_ slot: CK_SLOT_ID, _ info: UnsafeMutablePointer<CK_TOKEN_INFO>?) -> CK_RV {
        Module.withState { state in
            guard let token = token(of: slot, in: state) else { return CKR_SLOT_ID_INVALID }
            guard let info else { return CKR_ARGUMENTS_BAD }
            var value = CK_TOKEN_INFO()
            pad(state.tokens[token].record.label, into: &value.label)
            pad(manufacturer, into: &value.manufacturerID)
            pad("PKCS#12 profile", into: &value.model)
            let serial = Hex.uppercase(state.tokens[token].leaf.serialNumber)
            pad(String(serial.suffix(16)), into: &value.serialNumber)
            value.flags = CK_FLAGS(CKF_LOGIN_REQUIRED | CKF_WRITE_PROTECTED | CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED)
            value.ulMaxSessionCount = 0  // CK_EFFECTIVELY_INFINITE
            value.ulSessionCount = CK_ULONG(state.sessions.values.filter { $0.token == token }.count)
            value.ulMaxRwSessionCount = 0
            value.ulRwSessionCount = 0
            value.ulMaxPinLen = CK_ULONG(PasswordPolicyLimits.maximumBytes)
            value.ulMinPinLen = 1
            value.ulTotalPublicMemory = unavailable
            value.ulFreePublicMemory = unavailable
            value.ulTotalPrivateMemory = unavailable
            value.ulFreePrivateMemory = unavailable
            value.hardwareVersion = CK_VERSION(major: 1, minor: 0)
            value.firmwareVersion = CK_VERSION(major: 1, minor: 0)
            pad("", into: &value.utcTime)
            info.pointee = value
            return CKR_OK
        }
    }

    static func getMechanismList(_ slot: CK_SLOT_ID, _ list: UnsafeMutablePointer<CK_MECHANISM_TYPE>?, _ count: UnsafeMutablePointer<CK_ULONG>?)
        -> CK_RV
    {
        Module.withState { state in
            guard let token = token(of: slot, in: state) else { return CKR_SLOT_ID_INVALID }
            return answer(Mechanism.supported(for: state.tokens[token].leaf.keyType).map(\.type), into: list, count: count)
        }
    }

    static func getMechanismInfo(_ slot: CK_SLOT_ID, _ type: CK_MECHANISM_TYPE, _ info: UnsafeMutablePointer<CK_MECHANISM_INFO>?) -> CK_RV {
        Module.withState { state in
            guard let token = token(of: slot, in: state) else { return CKR_SLOT_ID_INVALID }
            let keyType = state.tokens[token].leaf.keyType
            guard let mechanism = Mechanism.supported(for: keyType).first(where: { $0.type == type }) else { return CKR_MECHANISM_INVALID }
            guard let info else { return CKR_ARGUMENTS_BAD }
            var value = CK_MECHANISM_INFO()
            switch mechanism.keyType {
            case .rsa:
                value.ulMinKeySize = 2048
                value.ulMaxKeySize = 3072
                value.flags = CK_FLAGS(CKF_SIGN)
            case .ec:
                value.ulMinKeySize = 256
                value.ulMaxKeySize = 256
                value.flags = CK_FLAGS(CKF_SIGN | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
            }
            info.pointee = value
            return CKR_OK
        }
    }

    // MARK: Sessions

    static func openSession(_ slot: CK_SLOT_ID, _ flags: CK_FLAGS, _ session: UnsafeMutablePointer<CK_SESSION_HANDLE>?) -> CK_RV {
        Module.withState { state in
            guard let token = token(of: slot, in: state) else { return CKR_SLOT_ID_INVALID }
            guard flags & CK_FLAGS(CKF_SERIAL_SESSION) != 0 else { return CKR_SESSION_PARALLEL_NOT_SUPPORTED }
            guard flags & CK_FLAGS(CKF_RW_SESSION) == 0 else { return CKR_TOKEN_WRITE_PROTECTED }
            guard let session else { return CKR_ARGUMENTS_BAD }
            guard state.sessions.count < 4096 else { return CKR_SESSION_COUNT }
            let handle = state.nextSession
            state.nextSession = handle == CK_SESSION_HANDLE(UInt32.max) ? 1 : handle + 1
            state.sessions[handle] = Session(token: token)
            session.pointee = handle
            return CKR_OK
        }
    }

    static func closeSession(_ handle: CK_SESSION_HANDLE) -> CK_RV {
        Module.withState { state in
            guard let session = state.sessions.removeValue(forKey: handle) else { return CKR_SESSION_HANDLE_INVALID }
            // The log-in ends with the token's last session.
            if !state.sessions.values.contains(where: { $0.token == session.token }) { state.logOut(token: session.token) }
            return CKR_OK
        }
    }

    static func closeAllSessions(_ slot: CK_SLOT_ID) -> CK_RV {
        Module.withState { state in
            guard let token = token(of: slot, in: state) else { return CKR_SLOT_ID_INVALID }
            state.sessions = state.sessions.filter { $0.value.token != token }
            state.logOut(token: token)
            return CKR_OK
        }
    }

    static func getSessionInfo(_ handle: CK_SESSION_HANDLE, _ info: UnsafeMutablePointer<CK_SESSION_INFO>?) -> CK_RV {
        Module.withSession(handle) { state, session in
            guard let info else { return CKR_ARGUMENTS_BAD }
            var value = CK_SESSION_INFO()
            value.slotID = CK_SLOT_ID(session.token + 1)
            value.state = state.tokens[session.token].key == nil ? CK_STATE(CKS_RO_PUBLIC_SESSION) : CK_STATE(CKS_RO_USER_FUNCTIONS)
            value.flags = CK_FLAGS(CKF_SERIAL_SESSION)
            value.ulDeviceError = 0
            info.pointee = value
            return CKR_OK
        }
    }

    // MARK: Log-in

    /// The log-in to the profile: its file opened with the password (full-cost derivations, MAC checked, key matched to
    /// the certificate, the key decrypted into locked memory), on this thread, without the network.
    static func login(_ handle: CK_SESSION_HANDLE, _ user: CK_USER_TYPE, _ pin: UnsafeMutablePointer<UInt8>?, _ length: CK_ULONG) -> CK_RV {
        Module.withSession(handle) { (state: ModuleState, session: inout Session) -> CK_RV in
            switch user {
            case CK_USER_TYPE(CKU_USER): break
            case CK_USER_TYPE(CKU_CONTEXT_SPECIFIC): return CKR_OPERATION_NOT_INITIALIZED
            default: return CKR_USER_TYPE_INVALID
            }
            guard state.tokens[session.token].key == nil else { return CKR_USER_ALREADY_LOGGED_IN }
            guard let pin else { return CKR_ARGUMENTS_BAD }
            guard length > 0, length <= CK_ULONG(PasswordPolicyLimits.maximumBytes) else { return CKR_PIN_LEN_RANGE }
            var bytes = Array(UnsafeBufferPointer(start: pin, count: Int(length)))
            defer { for index in bytes.indices { bytes[index] = 0 } }
            guard let password = String(validating: bytes, as: UTF8.self) else { return CKR_PIN_INCORRECT }
            let token = state.tokens[session.token]
            guard let file = ProviderToken.readFile(token.record.profile, limit: PKCS12.maximumFileSize) else { return CKR_TOKEN_NOT_PRESENT }
            let opened: LockedProfileContents
            do throws(KeystoreError) {
                opened = try PKCS12.openLocked(file, password: password)
            } catch  where error.code == .wrongPassword {
                return CKR_PIN_INCORRECT
            } catch {
                return CKR_DEVICE_ERROR
            }
            // The profile must still be the one installed. A profile renewed since this host loaded the token (`paraphe
            // profile update` rewrote its token file) shows its new certificate from now on.
            guard let der = try? opened.certificateDER() else {
                opened.key.wipe()
                return CKR_DEVICE_ERROR
            }
            if der != token.leaf.der {
                guard let directory = ProviderToken.directory(),
                    let record = ProviderToken.loadAll(from: directory).first(where: {
                        $0.label == token.record.label && $0.certificates.first == der
                    }),
                    let renewed = Token(record: record)
                else {
                    opened.key.wipe()
                    return CKR_DEVICE_ERROR
                }
                state.tokens[session.token] = renewed
            }
            state.tokens[session.token].key = opened.key
            return CKR_OK
        }
    }

    static func logout(_ handle: CK_SESSION_HANDLE) -> CK_RV {
        Module.withSession(handle) { state, session in
            guard state.tokens[session.token].key != nil else { return CKR_USER_NOT_LOGGED_IN }
            state.logOut(token: session.token)
            session.sign = nil
            return CKR_OK
        }
    }

    // MARK: Objects

    static func getAttributeValue(
        _ handle: CK_SESSION_HANDLE, _ objectHandle: CK_OBJECT_HANDLE, _ template: UnsafeMutablePointer<CK_ATTRIBUTE>?, _ count: CK_ULONG
    ) -> CK_RV {
        Module.withSession(handle) { state, session in
            guard let object = state.object(objectHandle, token: session.token) else { return CKR_OBJECT_HANDLE_INVALID }
            guard let template, count <= 4096 else { return count == 0 ? CKR_OK : CKR_ARGUMENTS_BAD }
            var result = CKR_OK
            for index in 0..<Int(count) {
                let type = template[index].type
                if object.sensitive.contains(type) {
                    template[index].ulValueLen = unavailable
                    result = CKR_ATTRIBUTE_SENSITIVE
                    continue
                }
                guard let value = object.attributes[type] else {
                    template[index].ulValueLen = unavailable
                    result = CKR_ATTRIBUTE_TYPE_INVALID
                    continue
                }
                if let destination = template[index].pValue {
                    guard template[index].ulValueLen >= CK_ULONG(value.count) else {
                        template[index].ulValueLen = unavailable
                        result = CKR_BUFFER_TOO_SMALL
                        continue
                    }
                    value.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(destination), byteCount: $0.count) }
                }
                template[index].ulValueLen = CK_ULONG(value.count)
            }
            return result
        }
    }

    static func findObjectsInit(_ handle: CK_SESSION_HANDLE, _ template: UnsafeMutablePointer<CK_ATTRIBUTE>?, _ count: CK_ULONG) -> CK_RV {
        Module.withSession(handle) { state, session in
            guard session.find == nil else { return CKR_OPERATION_ACTIVE }
            guard count == 0 || template != nil, count <= 4096 else { return CKR_ARGUMENTS_BAD }
            var wanted: [(CK_ATTRIBUTE_TYPE, [UInt8])] = []
            for index in 0..<Int(count) {
                guard let attribute = template?[index] else { return CKR_ARGUMENTS_BAD }
                guard attribute.ulValueLen <= 1 << 20, attribute.ulValueLen == 0 || attribute.pValue != nil else {
                    return CKR_ATTRIBUTE_VALUE_INVALID
                }
                let bytes = attribute.pValue.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(attribute.ulValueLen))) } ?? []
                wanted.append((attribute.type, bytes))
            }
            var found: [CK_OBJECT_HANDLE] = []
            for index in state.tokens[session.token].objects.indices {
                let handle = ModuleState.handle(token: session.token, object: index)
                guard let object = state.object(handle, token: session.token) else { continue }
                if wanted.allSatisfy({ object.attributes[$0.0] == $0.1 }) { found.append(handle) }
            }
            session.find = found
            return CKR_OK
        }
    }

    static func findObjects(
        _ handle: CK_SESSION_HANDLE, _ objects: UnsafeMutablePointer<CK_OBJECT_HANDLE>?, _ maximum: CK_ULONG, _ count: UnsafeMutablePointer<CK_ULONG>?
    ) -> CK_RV {
        Module.withSession(handle) { _, session in
            guard var remaining = session.find else { return CKR_OPERATION_NOT_INITIALIZED }
            guard let count, maximum == 0 || objects != nil else { return CKR_ARGUMENTS_BAD }
            let taken = min(Int(min(maximum, 4096)), remaining.count)
            for index in 0..<taken { objects?[index] = remaining[index] }
            remaining.removeFirst(taken)
            session.find = remaining
            count.pointee = CK_ULONG(taken)
            return CKR_OK
        }
    }

    static func findObjectsFinal(_ handle: CK_SESSION_HANDLE) -> CK_RV {
        Module.withSession(handle) { _, session in
            guard session.find != nil else { return CKR_OPERATION_NOT_INITIALIZED }
            session.find = nil
            return CKR_OK
        }
    }

    // MARK: Signing

    static func signInit(_ handle: CK_SESSION_HANDLE, _ mechanismPointer: UnsafeMutablePointer<CK_MECHANISM>?, _ key: CK_OBJECT_HANDLE) -> CK_RV {
        Module.withSession(handle) { state, session in
            guard session.sign == nil else { return CKR_OPERATION_ACTIVE }
            guard let requested = mechanismPointer?.pointee else { return CKR_ARGUMENTS_BAD }
            guard state.tokens[session.token].key != nil else { return CKR_USER_NOT_LOGGED_IN }
            guard let object = state.object(key, token: session.token), object.kind == .privateKey else { return CKR_KEY_HANDLE_INVALID }
            guard let mechanism = Mechanism.all.first(where: { $0.type == requested.mechanism }) else { return CKR_MECHANISM_INVALID }
            guard mechanism.keyType == state.tokens[session.token].leaf.keyType else { return CKR_KEY_TYPE_INCONSISTENT }
            var pss: (hash: SignatureScheme.Digest, mgf: SignatureScheme.Digest, saltLength: Int)?
            if mechanism.isPSS {
                guard let parameter = requested.pParameter, requested.ulParameterLen == CK_ULONG(MemoryLayout<CK_RSA_PKCS_PSS_PARAMS>.size) else {
                    return CKR_MECHANISM_PARAM_INVALID
                }
                let given = parameter.loadUnaligned(as: CK_RSA_PKCS_PSS_PARAMS.self)
                guard let hash = Mechanism.digest(hashMechanism: given.hashAlg), mechanism.digest == nil || mechanism.digest == hash,
                    let mgf = Mechanism.digest(generator: given.mgf), given.sLen <= 512
                else { return CKR_MECHANISM_PARAM_INVALID }
                pss = (hash, mgf, Int(given.sLen))
            } else if requested.ulParameterLen != 0 {
                return CKR_MECHANISM_PARAM_INVALID
            }
            session.sign = SignOperation(token: session.token, mechanism: mechanism, pss: pss)
            return CKR_OK
        }
    }

    static func sign(
        _ handle: CK_SESSION_HANDLE, _ data: UnsafeMutablePointer<UInt8>?, _ dataLength: CK_ULONG,
        _ signature: UnsafeMutablePointer<UInt8>?, _ signatureLength: UnsafeMutablePointer<CK_ULONG>?
    ) -> CK_RV {
        Module.withSession(handle) { state, session in
            guard var operation = session.sign else { return CKR_OPERATION_NOT_INITIALIZED }
            guard let signatureLength, dataLength == 0 || data != nil else {
                session.sign = nil
                return CKR_ARGUMENTS_BAD
            }
            guard !operation.multipart else {
                session.sign = nil
                return CKR_FUNCTION_FAILED
            }
            guard operation.update(UnsafeRawBufferPointer(start: data, count: Int(min(dataLength, 1 << 30)))) else {
                session.sign = nil
                return CKR_DATA_LEN_RANGE
            }
            return finish(operation, state: state, session: &session, signature: signature, length: signatureLength)
        }
    }

    static func signUpdate(_ handle: CK_SESSION_HANDLE, _ data: UnsafeMutablePointer<UInt8>?, _ dataLength: CK_ULONG) -> CK_RV {
        Module.withSession(handle) { _, session in
            guard var operation = session.sign else { return CKR_OPERATION_NOT_INITIALIZED }
            guard dataLength == 0 || data != nil else {
                session.sign = nil
                return CKR_ARGUMENTS_BAD
            }
            operation.multipart = true
            guard operation.update(UnsafeRawBufferPointer(start: data, count: Int(min(dataLength, 1 << 30)))) else {
                session.sign = nil
                return CKR_DATA_LEN_RANGE
            }
            session.sign = operation
            return CKR_OK
        }
    }

    static func signFinal(_ handle: CK_SESSION_HANDLE, _ signature: UnsafeMutablePointer<UInt8>?, _ signatureLength: UnsafeMutablePointer<CK_ULONG>?)
        -> CK_RV
    {
        Module.withSession(handle) { state, session in
            guard let operation = session.sign else { return CKR_OPERATION_NOT_INITIALIZED }
            guard let signatureLength else {
                session.sign = nil
                return CKR_ARGUMENTS_BAD
            }
            return finish(operation, state: state, session: &session, signature: signature, length: signatureLength)
        }
    }

    /// Ends a signature: with no buffer, only its length (the operation stays active); with too small a buffer,
    /// CKR_BUFFER_TOO_SMALL (it stays active too); else the signature, and the operation ends.
    private static func finish(
        _ operation: SignOperation, state: ModuleState, session: inout Session,
        signature: UnsafeMutablePointer<UInt8>?, length: UnsafeMutablePointer<CK_ULONG>
    ) -> CK_RV {
        guard let key = state.tokens[operation.token].key else {
            session.sign = nil
            return CKR_USER_NOT_LOGGED_IN
        }
        let needed = CK_ULONG(key.modulusLength)
        guard let signature else {
            session.sign = operation
            length.pointee = needed
            return CKR_OK
        }
        guard length.pointee >= needed else {
            session.sign = operation
            length.pointee = needed
            return CKR_BUFFER_TOO_SMALL
        }
        session.sign = nil
        let (input, scheme) = operation.finish()
        do throws(KeystoreError) {
            let bytes = try key.sign(input, scheme: scheme)
            for (index, byte) in bytes.enumerated() { signature[index] = byte }
            length.pointee = CK_ULONG(bytes.count)
            return CKR_OK
        } catch  where error.code == .invalidInput {
            return CKR_DATA_LEN_RANGE
        } catch {
            return CKR_FUNCTION_FAILED
        }
    }
}

/// The longest password the log-in takes (bytes of UTF-8).
enum PasswordPolicyLimits {
    static let maximumBytes = 1024
}

extension Functions {
    /// What the module does not do (encryption, digests, verification, key generation, …), once initialized.
    static func notSupported() -> CK_RV { Module.withState { _ in CKR_FUNCTION_NOT_SUPPORTED } }
    /// Changing a token: its sessions are all read-only.
    static func readOnly(_ handle: CK_SESSION_HANDLE) -> CK_RV { Module.withSession(handle) { _, _ in CKR_SESSION_READ_ONLY } }
    /// The tokens have no random-number generator (no CKF_RNG).
    static func noRandom(_ handle: CK_SESSION_HANDLE) -> CK_RV { Module.withSession(handle) { _, _ in CKR_RANDOM_NO_RNG } }
    /// No function runs in parallel with its caller.
    static func notParallel(_ handle: CK_SESSION_HANDLE) -> CK_RV { Module.withSession(handle) { _, _ in CKR_FUNCTION_NOT_PARALLEL } }
    /// A token is its profile: it is not initialized through PKCS#11.
    static func writeProtected() -> CK_RV { Module.withState { _ in CKR_TOKEN_WRITE_PROTECTED } }
}
