import Activation
import AsyncHTTPClient
import AuthorityInterface
import AuthorityWire
import Crypto
import Foundation
import Logging
import NIOCore
import NIOSSL
import ParapheShared
import SwiftASN1
import Synchronization
import X509

/// Where and how a workstation reaches a networked authority.
public struct AuthorityEndpoint: Sendable, Equatable {
    /// `https://HOST:PORT` (a path prefix is kept).
    public var baseURL: URL
    /// The SHA-256 of the authority's CA certificate (DER), if pinned.
    public var fingerprint: [UInt8]?
    /// Longest wait for a connection, and for a whole request.
    public var connectTimeout: Duration = .seconds(5)
    public var requestTimeout: Duration = .seconds(30)

    public init(baseURL: URL, fingerprint: [UInt8]? = nil) {
        self.baseURL = baseURL
        self.fingerprint = fingerprint
    }

    /// Parses `https://host[:port][/prefix]`; anything else is refused (the service is HTTPS only).
    public init(parsing text: String, fingerprint: String?) throws(AuthorityConnectionError) {
        guard let url = URL(string: text), url.scheme?.lowercased() == "https", let host = url.host, !host.isEmpty,
            url.query == nil, url.fragment == nil, url.user == nil
        else {
            throw AuthorityConnectionError(.unreachable, "the authority's address must be https://HOST[:PORT] (--authority or [authority] url)")
        }
        baseURL = url
        self.fingerprint = try fingerprint.map { text throws(AuthorityConnectionError) in try Self.parseFingerprint(text) }
    }

    /// 64 hexadecimal digits, with or without colons, any case.
    public static func parseFingerprint(_ text: String) throws(AuthorityConnectionError) -> [UInt8] {
        let hex = text.filter { $0 != ":" && $0 != " " }.lowercased()
        guard hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
            throw AuthorityConnectionError(
                .fingerprintMismatch, "the authority's fingerprint must be the SHA-256 of its CA certificate: 64 hexadecimal digits, colons allowed")
        }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else {
                throw AuthorityConnectionError(.fingerprintMismatch, "the fingerprint is not hexadecimal")
            }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    func url(_ path: String) -> URL {
        path.split(separator: "/").reduce(baseURL) { $0.appendingPathComponent(String($1)) }
    }
}

/// The authority over the network: the JSON API for steps 1, 2 and 4, CMP for step 5, HTTPS with the
/// authority's CA as the only trust anchor.
///
/// The anchor is the CA certificate installed in this workstation's trust store (step 3) or, before
/// that, the one the service offers at `/api/v1/ca` checked against the pinned fingerprint, or against
/// the one the person confirmed (`trustAuthority`). With none of these, nothing leaves the workstation
/// but `GET /api/v1/ca`: every other request fails with `.notPinned` and the fingerprint offered,
/// before it is sent — no token, answer, code, reference number or address goes to an authority nobody
/// vouched for.
public final class NetworkAuthority: Authority, Sendable {
    let endpoint: AuthorityEndpoint
    /// The workstation's trust store file (PEM), read when present.
    let trustStore: URL
    let random: any RandomSource
    let time: any TimeSource
    static let logger = Logger(label: "paraphe.authority.client")

    private struct Connection {
        var caDER: [UInt8]
        var client: HTTPClient
    }

    private let connection = Mutex<Connection?>(nil)
    /// The SHA-256 of the CA the person confirmed on this run (nil: none yet).
    private let confirmed = Mutex<[UInt8]?>(nil)

    public init(
        endpoint: AuthorityEndpoint, trustStore: URL, random: any RandomSource = SystemRandomSource(), time: any TimeSource = SystemTimeSource()
    ) {
        self.endpoint = endpoint
        self.trustStore = trustStore
        self.random = random
        self.time = time
    }

    deinit {
        if let client = connection.withLock({ $0?.client }) {
            client.shutdown { _ in }
        }
    }

    // MARK: - Trust

    /// The CA certificate (DER) this workstation trusts for the authority, and a client pinned to it.
    private func connected() async throws -> Connection {
        if let existing = connection.withLock({ $0 }) { return existing }
        let caDER = try await resolveAnchor()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        do {
            tls.trustRoots = .certificates([try NIOSSLCertificate(bytes: caDER, format: .der)])
        } catch {
            throw AuthorityConnectionError(.tls, "the authority's CA certificate cannot be used for TLS")
        }
        let client = makeClient(tls)
        return connection.withLock { current in
            if let current {
                client.shutdown { _ in }
                return current
            }
            let made = Connection(caDER: caDER, client: client)
            current = made
            return made
        }
    }

    private func makeClient(_ tls: TLSConfiguration) -> HTTPClient {
        let timeout = HTTPClient.Configuration.Timeout(connect: .init(endpoint.connectTimeout), read: .init(endpoint.requestTimeout))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow, timeout: timeout)
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration, backgroundActivityLogger: Self.logger)
    }

    /// The installed CA if there is one (it must match the pin), else the service's, checked against the pin.
    private func resolveAnchor() async throws -> [UInt8] {
        if let installed = installedCA() {
            if let pin = endpoint.fingerprint, Array(SHA256.hash(data: installed)) != pin {
                throw AuthorityConnectionError(
                    .fingerprintMismatch,
                    "the CA installed on this workstation is \(Hex.colons(Array(SHA256.hash(data: installed))))")
            }
            return installed
        }
        let offered = try await fetchOfferedCA()
        let fingerprint = Array(SHA256.hash(data: offered))
        if let pin = endpoint.fingerprint {
            guard fingerprint == pin else {
                throw AuthorityConnectionError(.fingerprintMismatch, "the authority offers \(Hex.colons(fingerprint))")
            }
            return offered
        }
        guard confirmed.withLock({ $0 }) == fingerprint else {
            throw AuthorityConnectionError(.notPinned, Hex.colons(fingerprint))
        }
        return offered
    }

    /// Whether this workstation vouches for the authority without asking: a pinned fingerprint, or a CA in its trust store.
    private var isPinnedOrInstalled: Bool { endpoint.fingerprint != nil || installedCA() != nil }

    private func installedCA() -> [UInt8]? {
        guard let text = try? String(contentsOf: trustStore, encoding: .utf8),
            let certificate = try? Certificate(pemEncoded: text)
        else { return nil }
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(certificate)) != nil else { return nil }
        return serializer.serializedBytes
    }

    /// `GET /api/v1/ca` before any anchor is known: the TLS session is not verified, so what it returns
    /// is trusted only through the fingerprint (or the person's confirmation at step 3), and nothing but
    /// this request goes over it.
    private func fetchOfferedCA() async throws -> [UInt8] {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let bootstrap = makeClient(tls)
        defer { bootstrap.shutdown { _ in } }
        let (status, body) = try await send(bootstrap, "GET", "api/v1/ca", body: nil, contentType: nil, limit: 64 * 1024)
        guard status == 200, let text = String(bytes: body, encoding: .utf8), let certificate = try? Certificate(pemEncoded: text) else {
            throw AuthorityConnectionError(.malformedResponse, "GET /api/v1/ca did not return a PEM certificate")
        }
        var serializer = DER.Serializer()
        do {
            try serializer.serialize(certificate)
        } catch {
            throw AuthorityConnectionError(.malformedResponse, "the CA certificate cannot be encoded")
        }
        return serializer.serializedBytes
    }

    // MARK: - HTTP

    private func send(_ client: HTTPClient, _ method: String, _ path: String, body: [UInt8]?, contentType: String?, limit: Int) async throws -> (
        Int, [UInt8]
    ) {
        let url = endpoint.url(path)
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .init(rawValue: method)
        request.headers.add(name: "Accept", value: contentType ?? "application/json")
        request.headers.add(name: "User-Agent", value: "paraphe/1.0")
        if let body {
            request.headers.add(name: "Content-Type", value: contentType ?? "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await client.execute(request, timeout: .init(endpoint.requestTimeout))
            let buffer = try await response.body.collect(upTo: limit)
            return (Int(response.status.code), Array(buffer.readableBytesView))
        } catch let error as AuthorityConnectionError {
            throw error
        } catch {
            throw Self.classify(error, url: url)
        }
    }

    /// A transport failure as the person's message needs it: unreachable, timed out, or TLS.
    static func classify(_ error: any Error, url: URL) -> AuthorityConnectionError {
        let endpoint = "\(url.host ?? "?"):\(url.port.map(String.init) ?? "443")"
        switch error {
        case let error as HTTPClientError:
            switch error {
            case .connectTimeout, .deadlineExceeded, .readTimeout, .writeTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout:
                return AuthorityConnectionError(.timedOut, "\(endpoint) did not answer in time")
            case .remoteConnectionClosed:
                return AuthorityConnectionError(.unreachable, "\(endpoint) closed the connection")
            default:
                return AuthorityConnectionError(.unreachable, "\(endpoint): \(error)")
            }
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            return AuthorityConnectionError(.tls, "\(endpoint) presented a certificate this workstation does not trust")
        default:
            let text = String(describing: error)
            if text.contains("handshake") || text.contains("certificate") {
                return AuthorityConnectionError(.tls, "\(endpoint) presented a certificate this workstation does not trust")
            }
            if text.lowercased().contains("timeout") || text.lowercased().contains("timed out") {
                return AuthorityConnectionError(.timedOut, "\(endpoint) did not answer in time")
            }
            return AuthorityConnectionError(.unreachable, "\(endpoint) refused the connection or is down")
        }
    }

    /// A JSON exchange: the decoded success body, or the refusal the error body stands for.
    private func exchange<Response: Decodable>(
        _ method: String, _ path: String, body: (some Encodable)?, as type: Response.Type, accepting success: Int = 200
    ) async throws -> Response {
        let connection = try await connected()
        let payload = try body.map { try WireFormat.encoder.encode($0) }.map { Array($0) }
        let (status, data) = try await send(connection.client, method, path, body: payload, contentType: nil, limit: 256 * 1024)
        if status == success {
            do {
                return try WireFormat.decoder.decode(Response.self, from: Data(data))
            } catch {
                throw AuthorityConnectionError(.malformedResponse, "\(method) \(Self.route(path)) answered with a body that is not the API's")
            }
        }
        let wire = try? WireFormat.decoder.decode(WireError.self, from: Data(data))
        if let refusal = wire?.activationError { throw refusal }
        switch status {
        case 429: throw AuthorityConnectionError(.rateLimited, "too many requests")
        case 500...: throw AuthorityConnectionError(.serverFailure, "HTTP \(status) on \(Self.route(path))")
        default: throw AuthorityConnectionError(.malformedResponse, "HTTP \(status) \(wire?.code ?? "") on \(Self.route(path))")
        }
    }

    /// The route without the token (for messages).
    static func route(_ path: String) -> String {
        path.hasPrefix("api/v1/applications/")
            ? "/api/v1/applications/{token}"
                + (path.split(separator: "/").count > 4 ? "/" + (path.split(separator: "/").last.map(String.init) ?? "") : "") : "/" + path
    }

    private struct NoBody: Encodable {}

    // MARK: - Authority

    public func approve(_ request: ApprovalRequest) async throws -> ApprovalReceipt {
        throw AuthorityError(.badRequest, "applications are approved on the authority's host (paraphe-authority approve), never over the network")
    }

    public func overview(of token: ApplicationToken) async throws -> ApplicationOverview {
        let body = try await exchange("GET", "api/v1/applications/\(token.value)", body: NoBody?.none, as: WireFormat.Overview.self)
        return try body.decoded()
    }

    public func verifyIdentity(token: ApplicationToken, answers: [SecurityAnswer]) async throws -> IdentityVerification {
        let request = WireFormat.IdentityRequest(answers: answers.map(\.revealed))
        let body = try await exchange("POST", "api/v1/applications/\(token.value)/identity", body: request, as: WireFormat.IdentityResponse.self)
        return try body.decoded()
    }

    public func renewCodes(token: ApplicationToken, authorization: AuthorizationCode) async throws -> RenewalReceipt {
        let request = WireFormat.RenewalRequest(authorizationCode: authorization.revealed)
        let body = try await exchange("POST", "api/v1/applications/\(token.value)/renewal", body: request, as: WireFormat.RenewalResponse.self)
        return try body.decoded()
    }

    public func caCertificateDER() async throws -> [UInt8] {
        try await connected().caDER
    }

    public func requestRecovery(email: String) async throws {
        _ = try await exchange(
            "POST", "api/v1/recovery", body: WireFormat.RecoveryRequest(email: email), as: WireFormat.RecoveryResponse.self, accepting: 202)
    }

    /// `GET /api/v1/about`, over the pinned connection: the contact, checked before anything shows it.
    public func customerService() async throws -> CustomerService? {
        let about = try await exchange("GET", "api/v1/about", body: NoBody?.none, as: WireFormat.About.self)
        return try about.decoded()
    }

    /// The SHA-256 of the CA certificate in use, for the person to compare at step 3.
    public func caFingerprint() async throws -> String {
        Hex.colons(Array(SHA256.hash(data: try await connected().caDER)))
    }

    /// `POST /pkix/`, over the pinned connection.
    public func cmp(_ message: [UInt8]) async throws -> [UInt8] {
        let connection = try await connected()
        return try await postCMP(connection.client, message)
    }

    private func postCMP(_ client: HTTPClient, _ message: [UInt8]) async throws -> [UInt8] {
        let (status, body) = try await send(client, "POST", "pkix/", body: message, contentType: CMPEnrollment.mediaType, limit: 256 * 1024)
        guard status == 200 else {
            if status == 429 { throw AuthorityConnectionError(.rateLimited, "too many requests") }
            if status >= 500 { throw AuthorityConnectionError(.serverFailure, "HTTP \(status) on /pkix/") }
            throw AuthorityConnectionError(.malformedResponse, "HTTP \(status) on /pkix/")
        }
        return body
    }

    /// `GET /crl` (DER), over the pinned connection.
    public func revocationList() async throws -> [UInt8]? {
        let connection = try await connected()
        let (status, body) = try await send(connection.client, "GET", "crl", body: nil, contentType: "application/pkix-crl", limit: 4 * 1024 * 1024)
        guard status == 200 else { throw AuthorityConnectionError(status >= 500 ? .serverFailure : .malformedResponse, "HTTP \(status) on /crl") }
        return body
    }

    /// The fingerprint of the CA the service offers, when the person must confirm it before anything else is sent
    /// (nothing pinned, nothing installed, nothing confirmed yet); only `GET /api/v1/ca` goes out for it.
    public func caFingerprintToConfirm() async throws -> String? {
        guard !isPinnedOrInstalled else { return nil }
        let fingerprint = Array(SHA256.hash(data: try await fetchOfferedCA()))
        return confirmed.withLock({ $0 }) == fingerprint ? nil : Hex.colons(fingerprint)
    }

    /// The person confirmed `fingerprint`: requests may go to the authority whose CA has it (checked when connecting).
    public func trustAuthority(fingerprint: String) async throws {
        let bytes = try AuthorityEndpoint.parseFingerprint(fingerprint)
        confirmed.withLock { $0 = bytes }
    }

    public func issueCertificate(token: ApplicationToken, reference: ReferenceNumber, authorization: AuthorizationCode, csrDER: [UInt8]) async throws
        -> IssuedCertificate
    {
        let connection = try await connected()
        let client = connection.client
        return try await CMPEnrollment.enroll(
            csrDER: csrDER, token: token, reference: reference, authorization: authorization, random: random, now: time.now(),
            caDER: connection.caDER
        ) { message in
            try await self.postCMP(client, message)
        }
    }
}
