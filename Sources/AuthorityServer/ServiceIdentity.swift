import Authority
import AuthorityInterface
import Crypto
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import Synchronization
import X509

/// The TLS identity the service presents, replaceable while it runs: each new connection is set up with the
/// identity of the moment, and connections already open keep the one they started with (nothing is dropped).
public final class ServiceIdentity: Sendable {
    struct Current {
        var context: NIOSSLContext
        var notAfter: Date
        /// SHA-256 of the PEM texts it was made from (to tell whether files changed).
        var digest: [UInt8]
    }

    private let current: Mutex<Current>

    /// An identity from a PEM certificate chain (leaf first) and its PEM private key.
    public init(chainPEM: String, keyPEM: String) throws {
        current = Mutex(try Self.make(chainPEM: chainPEM, keyPEM: keyPEM))
    }

    /// Replaces the identity for the connections to come; throws (and keeps the current one) if the PEM is not usable.
    public func replace(chainPEM: String, keyPEM: String) throws {
        let made = try Self.make(chainPEM: chainPEM, keyPEM: keyPEM)
        current.withLock { $0 = made }
    }

    /// When the certificate presented now expires.
    public var notAfter: Date { current.withLock { $0.notAfter } }

    /// Whether `chainPEM` and `keyPEM` are what the identity was made from.
    public func isMade(from chainPEM: String, keyPEM: String) -> Bool {
        current.withLock { $0.digest } == Self.digest(chainPEM, keyPEM)
    }

    var context: NIOSSLContext { current.withLock { $0.context } }

    private static func digest(_ chainPEM: String, _ keyPEM: String) -> [UInt8] {
        Array(SHA256.hash(data: Array((chainPEM + "\u{0}" + keyPEM).utf8)))
    }

    private static func make(chainPEM: String, keyPEM: String) throws -> Current {
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(chainPEM.utf8))
            guard !chain.isEmpty else { throw AuthorityError(.certificateAuthority, "no certificate in the TLS chain") }
            let key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.minimumTLSVersion = .tlsv12
            let leaf = try Certificate(derEncoded: try chain[0].toDERBytes())
            return Current(context: try NIOSSLContext(configuration: configuration), notAfter: leaf.notValidAfter, digest: digest(chainPEM, keyPEM))
        } catch let error as AuthorityError {
            throw error
        } catch {
            throw AuthorityError(.certificateAuthority, "the TLS certificate or key cannot be read (PEM expected, the key matching the certificate)")
        }
    }
}

/// How the service's connections are set up: the PROXY protocol header first when the peer is a trusted balancer,
/// then TLS with the identity of the moment, then HTTP/1.1.
struct ServiceChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let identity: ServiceIdentity
    let trustedProxies: [AddressRange]

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let peer = channel.remoteAddress?.ipAddress ?? ""
        let proxied = trustedProxies.contains { $0.contains(ip: peer) }
        let context = identity.context
        return channel.eventLoop.makeCompletedFuture {
            if proxied { try channel.pipeline.syncOperations.addHandler(ProxyProtocolHandler(logger: logger)) }
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
