import Activation
import Crypto
import Foundation
import Keystore
import _CryptoExtras

/// An activation in flight, parked on disk before the authority sees the CSR: the new private key
/// (PKCS#8), the codes it is being redeemed with and the subscriber, sealed with AES-256-GCM under a
/// key expanded from the profile's bags' key (PBKDF2-HMAC-SHA256 of the person's password at the
/// profile's iteration count, then HKDF-SHA256 under a label of its own).
///
/// A rerun with the same password picks it up: the same key, so the authority re-issues the same
/// certificate even after the codes were consumed.
struct ParkedActivation: Codable, Sendable {
    var pkcs8: [UInt8]
    var algorithm: String
    var authorization: String
    var reference: String
    var name: String
    var email: String
    var language: String

    /// The file as stored: KDF parameters and the sealed box.
    private struct Envelope: Codable {
        var version: Int
        var kdf: String
        var iterations: Int
        var salt: [UInt8]
        var sealed: [UInt8]
    }

    /// The label of the parked file's key, expanded (HKDF) from the profile's bags' key.
    static let sealingLabel = "paraphe parked activation v2"

    /// Seals this activation under the key of the profile's bags it will be written with (`BagKey`): one
    /// PBKDF2 serves both, and the salt recorded here is the one the profile's bags get.
    func seal(with bagKey: BagKey) throws -> [UInt8] {
        let plain = try JSONEncoder().encode(self)
        guard let combined = try AES.GCM.seal(plain, using: bagKey.subkey(Self.sealingLabel)).combined else {
            throw WorkstationError(.profileWrite, "cannot seal the parked key")
        }
        let envelope = Envelope(
            version: 2, kdf: "pbkdf2-hmac-sha256+hkdf-sha256", iterations: bagKey.iterations, salt: bagKey.salt, sealed: Array(combined))
        return Array(try JSONEncoder().encode(envelope))
    }

    /// Opens a parked activation and returns it with the bags' key that opened it (nil for a file of the first
    /// format, sealed directly with its PBKDF2 key: that key is not reused for the profile); nil if the file is
    /// damaged or the password is not the one it was sealed with.
    static func open(_ bytes: [UInt8], password: Password) -> (ParkedActivation, BagKey?)? {
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(bytes)),
            (1...2).contains(envelope.version), envelope.kdf == (envelope.version == 1 ? "pbkdf2-hmac-sha256" : "pbkdf2-hmac-sha256+hkdf-sha256"),
            (KDFCost.minimumIterations...KDFCost.maximumIterations).contains(envelope.iterations),
            let bagKey = try? BagKey.derive(password: password.revealed, salt: envelope.salt, cost: KDFCost(iterations: envelope.iterations)),
            let box = try? AES.GCM.SealedBox(combined: envelope.sealed),
            let plain = try? AES.GCM.open(box, using: envelope.version == 1 ? bagKey.unexpandedForFirstFormat : bagKey.subkey(sealingLabel)),
            let parked = try? JSONDecoder().decode(ParkedActivation.self, from: plain)
        else { return nil }
        return (parked, envelope.version == 2 ? bagKey : nil)
    }
}
