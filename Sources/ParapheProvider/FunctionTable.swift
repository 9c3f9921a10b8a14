import CPKCS11

// swift-format-ignore: AlwaysUseLowerCamelCase
// (the name the standard gives the one symbol a PKCS#11 module exports)
/// The module's one exported symbol (the linker's version script hides every other): the table of its functions.
@_cdecl("C_GetFunctionList")
public func C_GetFunctionList(_ list: UnsafeMutablePointer<UnsafeMutablePointer<CK_FUNCTION_LIST>?>?) -> CK_RV {
    guard let list else { return CKR_ARGUMENTS_BAD }
    list.pointee = FunctionTable.table
    return CKR_OK
}

/// The table C_GetFunctionList hands out: made once, never freed, never changed.
enum FunctionTable {
    nonisolated(unsafe) static let table: UnsafeMutablePointer<CK_FUNCTION_LIST> = {
        let table = UnsafeMutablePointer<CK_FUNCTION_LIST>.allocate(capacity: 1)
        table.initialize(to: make())
        return table
    }()

    private static func make() -> CK_FUNCTION_LIST {
        var list = CK_FUNCTION_LIST()
        list.version = CK_VERSION(major: 2, minor: 40)
        list.C_Initialize = { Module.initialize($0) }
        list.C_Finalize = { Module.finalize($0) }
        list.C_GetInfo = { Functions.getInfo($0) }
        list.C_GetFunctionList = { C_GetFunctionList($0) }
        list.C_GetSlotList = { Functions.getSlotList($0, $1, $2) }
        list.C_GetSlotInfo = { Functions.getSlotInfo($0, $1) }
        list.C_GetTokenInfo = { Functions.getTokenInfo($0, $1) }
        list.C_GetMechanismList = { Functions.getMechanismList($0, $1, $2) }
        list.C_GetMechanismInfo = { Functions.getMechanismInfo($0, $1, $2) }
        list.C_InitToken = { _, _, _, _ in Functions.writeProtected() }
        list.C_InitPIN = { a0, _, _ in Functions.readOnly(a0) }
        list.C_SetPIN = { a0, _, _, _, _ in Functions.readOnly(a0) }
        list.C_OpenSession = { Functions.openSession($0, $1, $4) }
        list.C_CloseSession = { Functions.closeSession($0) }
        list.C_CloseAllSessions = { Functions.closeAllSessions($0) }
        list.C_GetSessionInfo = { Functions.getSessionInfo($0, $1) }
        list.C_GetOperationState = { _, _, _ in Functions.notSupported() }
        list.C_SetOperationState = { _, _, _, _, _ in Functions.notSupported() }
        list.C_Login = { Functions.login($0, $1, $2, $3) }
        list.C_Logout = { Functions.logout($0) }
        list.C_CreateObject = { a0, _, _, _ in Functions.readOnly(a0) }
        list.C_CopyObject = { a0, _, _, _, _ in Functions.readOnly(a0) }
        list.C_DestroyObject = { a0, _ in Functions.readOnly(a0) }
        list.C_GetObjectSize = { _, _, _ in Functions.notSupported() }
        list.C_GetAttributeValue = { Functions.getAttributeValue($0, $1, $2, $3) }
        list.C_SetAttributeValue = { a0, _, _, _ in Functions.readOnly(a0) }
        list.C_FindObjectsInit = { Functions.findObjectsInit($0, $1, $2) }
        list.C_FindObjects = { Functions.findObjects($0, $1, $2, $3) }
        list.C_FindObjectsFinal = { Functions.findObjectsFinal($0) }
        list.C_EncryptInit = { _, _, _ in Functions.notSupported() }
        list.C_Encrypt = { _, _, _, _, _ in Functions.notSupported() }
        list.C_EncryptUpdate = { _, _, _, _, _ in Functions.notSupported() }
        list.C_EncryptFinal = { _, _, _ in Functions.notSupported() }
        list.C_DecryptInit = { _, _, _ in Functions.notSupported() }
        list.C_Decrypt = { _, _, _, _, _ in Functions.notSupported() }
        list.C_DecryptUpdate = { _, _, _, _, _ in Functions.notSupported() }
        list.C_DecryptFinal = { _, _, _ in Functions.notSupported() }
        list.C_DigestInit = { _, _ in Functions.notSupported() }
        list.C_Digest = { _, _, _, _, _ in Functions.notSupported() }
        list.C_DigestUpdate = { _, _, _ in Functions.notSupported() }
        list.C_DigestKey = { _, _ in Functions.notSupported() }
        list.C_DigestFinal = { _, _, _ in Functions.notSupported() }
        list.C_SignInit = { Functions.signInit($0, $1, $2) }
        list.C_Sign = { Functions.sign($0, $1, $2, $3, $4) }
        list.C_SignUpdate = { Functions.signUpdate($0, $1, $2) }
        list.C_SignFinal = { Functions.signFinal($0, $1, $2) }
        list.C_SignRecoverInit = { _, _, _ in Functions.notSupported() }
        list.C_SignRecover = { _, _, _, _, _ in Functions.notSupported() }
        list.C_VerifyInit = { _, _, _ in Functions.notSupported() }
        list.C_Verify = { _, _, _, _, _ in Functions.notSupported() }
        list.C_VerifyUpdate = { _, _, _ in Functions.notSupported() }
        list.C_VerifyFinal = { _, _, _ in Functions.notSupported() }
        list.C_VerifyRecoverInit = { _, _, _ in Functions.notSupported() }
        list.C_VerifyRecover = { _, _, _, _, _ in Functions.notSupported() }
        list.C_DigestEncryptUpdate = { _, _, _, _, _ in Functions.notSupported() }
        list.C_DecryptDigestUpdate = { _, _, _, _, _ in Functions.notSupported() }
        list.C_SignEncryptUpdate = { _, _, _, _, _ in Functions.notSupported() }
        list.C_DecryptVerifyUpdate = { _, _, _, _, _ in Functions.notSupported() }
        list.C_GenerateKey = { a0, _, _, _, _ in Functions.readOnly(a0) }
        list.C_GenerateKeyPair = { a0, _, _, _, _, _, _, _ in Functions.readOnly(a0) }
        list.C_WrapKey = { _, _, _, _, _, _ in Functions.notSupported() }
        list.C_UnwrapKey = { a0, _, _, _, _, _, _, _ in Functions.readOnly(a0) }
        list.C_DeriveKey = { a0, _, _, _, _, _ in Functions.readOnly(a0) }
        list.C_SeedRandom = { a0, _, _ in Functions.noRandom(a0) }
        list.C_GenerateRandom = { a0, _, _ in Functions.noRandom(a0) }
        list.C_GetFunctionStatus = { a0 in Functions.notParallel(a0) }
        list.C_CancelFunction = { a0 in Functions.notParallel(a0) }
        list.C_WaitForSlotEvent = { _, _, _ in Functions.notSupported() }
        return list
    }
}
