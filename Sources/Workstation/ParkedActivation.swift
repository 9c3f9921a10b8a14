import Activation
import Crypto
import _CryptoExtras
import Foundation
import Keystore

/// An activation in flight, parked on disk before the authority sees the CSR: the new private key
/// (PKCS#8), the codes it is being redeemed with and the subscriber, sealed with AES-256-GCM under a
/// key derived from the person's password (PBKDF2-HMAC-SHA256, the profile's iteration count).
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

    /// Seals this activation with a key derived from the password (`ParkingKey.derive`).
    func seal(with parking: ParkingKey) throws -> [UInt8] {
        let plain = try JSONEncoder().encode(self)
        guard let combined = try AES.GCM.seal(plain, using: parking.key).combined else {
            throw WorkstationError(.profileWrite, "cannot seal the parked key")
        }
        let envelope = Envelope(version: 1, kdf: "pbkdf2-hmac-sha256", iterations: parking.iterations, salt: parking.salt, sealed: Array(combined))
        return Array(try JSONEncoder().encode(envelope))
    }

    /// Opens a parked activation and returns it with the key that opened it; nil if the file is
    /// damaged or the password is not the one it was sealed with.
    static func open(_ bytes: [UInt8], password: Password) -> (ParkedActivation, ParkingKey)? {
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(bytes)), envelope.version == 1,
            envelope.kdf == "pbkdf2-hmac-sha256", (KDFCost.minimumIterations...KDFCost.maximumIterations).contains(envelope.iterations),
            let parking = try? ParkingKey.derive(password: password, salt: envelope.salt, iterations: envelope.iterations),
            let box = try? AES.GCM.SealedBox(combined: envelope.sealed),
            let plain = try? AES.GCM.open(box, using: parking.key),
            let parked = try? JSONDecoder().decode(ParkedActivation.self, from: plain)
        else { return nil }
        return (parked, parking)
    }
}

/// The AES-256 key that seals a parked activation: PBKDF2-HMAC-SHA256 of the password.
struct ParkingKey: Sendable {
    let salt: [UInt8]
    let iterations: Int
    let key: SymmetricKey

    /// Derives the key for a fresh random salt.
    static func derive(password: Password, iterations: Int) throws -> ParkingKey {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = UInt8.random(in: .min ... .max, using: &generator) }
        return try derive(password: password, salt: salt, iterations: iterations)
    }

    static func derive(password: Password, salt: [UInt8], iterations: Int) throws -> ParkingKey {
        // The profile's own KDF path (PBKDF2-HMAC-SHA256, 32 bytes): one derivation code for every password.
        let key = try ProfileKDF.bagKey(password: password.revealed, salt: salt, cost: KDFCost(iterations: iterations))
        return ParkingKey(salt: salt, iterations: iterations, key: key)
    }
}
