import Activation
import Authority
import AuthorityInterface
import AuthorityWire
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ParapheResources

/// How the service listens and what it tolerates.
public struct ServiceSettings: Sendable {
    /// Host (name or address) and port to bind; port 0 picks a free one.
    public var host: String
    public var port: Int
    /// The certificate chain and key the service presents, replaceable while it runs.
    public var identity: ServiceIdentity
    /// Largest JSON request body, in bytes.
    public var maximumJSONBody = 16 * 1024
    /// Largest CMP request, in bytes.
    public var maximumCMPBody = 64 * 1024
    /// A connection with nothing to read or write for this long is closed (slow or stalled clients).
    public var idleTimeout: Duration = .seconds(30)
    /// Requests a client may make per minute to the lookup, identity, renewal, recovery, CMP, CRL and metrics endpoints.
    public var requestsPerMinute = 60
    /// Identity checks one application may take in any 15 minutes on this instance (0: no limit).
    ///
    /// Failures lock it at 5 anyway; this bounds the successful ones, which nothing else does.
    public var identityChecksPerApplication = 10
    /// Load balancers whose connections start with a PROXY protocol v2 header naming the real client (`--trusted-proxy`).
    public var trustedProxies: [AddressRange] = []

    public init(host: String, port: Int, identity: ServiceIdentity) {
        self.host = host
        self.port = port
        self.identity = identity
    }
}

/// The request context: Hummingbird's, plus who the client is (for the limits): the address a trusted balancer
/// named in its PROXY header, else the connection's peer; an IPv6 client counts by its /64.
public struct ServiceRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public let client: ClientAddress

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        client = ClientAddress(ip: proxiedClients.source(of: source.channel) ?? source.channel.remoteAddress?.ipAddress ?? "")
    }

    /// Bodies are collected explicitly, each endpoint with its own cap.
    public var maxUploadSize: Int { 64 * 1024 }
}

/// The authority as an HTTPS service: the subscriber's steps as JSON under `/api/v1/`, CMP enrollment
/// at `/pkix/`, the CA certificate, and the API document.
///
/// Nothing operator-only is reachable.
public struct AuthorityService: Sendable {
    let authority: EmbeddedAuthority
    let settings: ServiceSettings
    let logger: Logger
    let limiter: RateLimiter
    /// Identity checks per application (successful ones included: each costs three full-cost hashes).
    let identityLimiter: RateLimiter
    let cmp: CMPResponder
    let metrics = ServiceMetrics()
    let crl: CRLCache
    let health: HealthProbe
    /// Wakes the instance's background work (recovery requests, the outbox) without waiting for its next round.
    let wakeBackground: @Sendable () -> Void

    public init(
        authority: EmbeddedAuthority, settings: ServiceSettings, logger: Logger = Logger(label: "paraphe.authority.http"),
        wakeBackground: @escaping @Sendable () -> Void = {}
    ) {
        self.authority = authority
        self.settings = settings
        self.logger = logger
        self.wakeBackground = wakeBackground
        let time = authority.time
        limiter = RateLimiter(limit: settings.requestsPerMinute, now: { time.now() })
        identityLimiter = RateLimiter(limit: settings.identityChecksPerApplication, window: 15 * 60, now: { time.now() })
        cmp = CMPResponder(authority: authority, logger: logger)
        crl = CRLCache()
        health = HealthProbe(now: { time.now() })
    }

    /// Serves until the task is cancelled or SIGTERM/SIGINT arrives (connections drain first).
    ///
    /// `onListening` gets the bound address (host and real port) once the socket is listening.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        let host = settings.host
        let (identity, trusted, idleTimeout) = (settings.identity, settings.trustedProxies, settings.idleTimeout)
        let server = HTTPServerBuilder { responder in
            ServiceChannel(
                base: HTTP1Channel(responder: responder, configuration: .init(idleTimeout: .init(idleTimeout))), identity: identity,
                trustedProxies: trusted)
        }
        let application = Application(
            router: makeRouter(),
            server: server,
            configuration: .init(address: .hostname(host, port: settings.port), serverName: "paraphe-authority"),
            onServerRunning: { channel in
                onListening(host, channel.localAddress?.port ?? 0)
            },
            logger: logger
        )
        try await application.runService()
    }

    func makeRouter() -> Router<ServiceRequestContext> {
        let router = Router(context: ServiceRequestContext.self)
        router.add(middleware: AccessLog(logger: logger, metrics: metrics))
        router.add(middleware: MethodNotAllowed())
        let api = router.group("api/v1")
        api.get("applications/:token") { request, context in
            try await handleJSON(context) {
                try limiter.admit(context)
                let overview = try await authority.overview(of: try token(context))
                return try json(WireFormat.Overview(overview))
            }
        }
        api.post("applications/:token/identity") { request, context in
            try await handleJSON(context) {
                try limiter.admit(context)
                let token = try token(context)
                let body = try await decode(WireFormat.IdentityRequest.self, request, context)
                // Counted once the request is well formed: what is counted is the costly work.
                try identityLimiter.admit(token.value)
                let verification: IdentityVerification
                do {
                    verification = try await authority.verifyIdentity(token: token, answers: body.answers.map(SecurityAnswer.init))
                } catch let refusal as ActivationError {
                    metrics.identityCheck(Self.outcome(refusal))
                    throw refusal
                }
                metrics.identityCheck("verified")
                return try json(WireFormat.IdentityResponse(verification))
            }
        }
        api.post("applications/:token/renewal") { request, context in
            try await handleJSON(context) {
                try limiter.admit(context)
                let token = try token(context)
                let body = try await decode(WireFormat.RenewalRequest.self, request, context)
                let receipt = try await authority.renewCodes(token: token, authorization: AuthorizationCode(body.authorizationCode))
                return try json(WireFormat.RenewalResponse(receipt))
            }
        }
        api.post("recovery") { request, context in
            try await handleJSON(context) {
                try limiter.admit(context)
                let body = try await decode(WireFormat.RecoveryRequest.self, request, context)
                guard body.email.count <= 254 else {
                    throw APIFailure(status: .badRequest, WireError(code: "badRequest", message: "The address is too long."))
                }
                // Recorded and answered; handled after the answer (the same work on this path whatever the address).
                try await authority.enqueueRecovery(email: body.email)
                wakeBackground()
                return try json(WireFormat.RecoveryResponse(), status: .accepted)
            }
        }
        api.get("ca") { _, context in
            try await handleJSON(context) {
                let pem = try await authority.caCertificatePEM()
                return Response(
                    status: .ok, headers: [.contentType: "application/x-pem-file"], body: .init(byteBuffer: ByteBuffer(string: pem)))
            }
        }
        // What the person is told to contact; the same for every caller, so cacheable, and unlimited like the CA.
        api.get("about") { _, context in
            try await handleJSON(context) {
                var response = try json(WireFormat.About(customerService: try await authority.customerService()))
                response.headers[.cacheControl] = "max-age=300"
                return response
            }
        }
        router.get("crl") { _, context in
            try await handleJSON(context) {
                try limiter.admit(context)
                let number = try await authority.currentRevocationListNumber()
                guard let der = try await crl.current(number: number, { try await authority.revocationList() }) else {
                    return Response(status: .notFound)
                }
                return Response(
                    status: .ok, headers: [.contentType: "application/pkix-crl", .cacheControl: "max-age=3600"],
                    body: .init(byteBuffer: ByteBuffer(bytes: der)))
            }
        }
        // For a load balancer and the operator: the database answers, the CA is loaded and valid. Unlimited, but
        // answered from one probe a few seconds old at most (whatever the number of callers, one database read).
        router.get("health") { _, _ in
            let health = await health.current {
                let caValid = authority.caValidUntil > authority.time.now()
                do {
                    // A database that does not answer within 3 s is as good as gone for a load balancer.
                    let pending = try await withDeadline(.seconds(3)) { try await authority.pendingMailCount() }
                    metrics.pendingMail(pending)
                    return WireFormat.Health(
                        status: caValid ? "ok" : "unavailable", database: "reachable", ca: caValid ? "loaded" : "expired", outboxPending: pending)
                } catch {
                    logger.error("health: the registry does not answer", metadata: ["registry": "\(authority.registryLocation)"])
                    return WireFormat.Health(status: "unavailable", database: "unreachable", ca: caValid ? "loaded" : "expired", outboxPending: nil)
                }
            }
            return try json(health, status: health.status == "ok" ? .ok : .serviceUnavailable)
        }
        router.get("metrics") { _, context in
            if case .failure(let refusal) = Result(catching: { try limiter.admit(context) }), let failure = refusal as? APIFailure {
                var response = try json(failure.body, status: failure.status)
                if let retryAfter = failure.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
                return response
            }
            if let pending = try? await authority.pendingMailCount() { metrics.pendingMail(pending) }
            metrics.awaitingConfirmations(authority.awaitingConfirmations)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
        router.get("openapi.yaml") { _, _ in
            guard let document = ParapheResources.data("openapi", "openapi.yaml") else {
                return Response(status: .internalServerError)
            }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
        // `/pkix/` and `/pkix` (the router treats them as one path).
        router.post("pkix") { request, context in
            try await cmpExchange(request, context)
        }
        return router
    }

    /// An identity check's refusal as a metric label (the case name, without its values).
    static func outcome(_ refusal: ActivationError) -> String {
        switch refusal.code {
        case .wrongAnswers: "wrongAnswers"
        case .identityLocked: "locked"
        default: String(describing: refusal.code).prefix { $0 != "(" }.description
        }
    }

    // MARK: - JSON

    private func token(_ context: ServiceRequestContext) throws -> ApplicationToken {
        guard let text = context.parameters.get("token"), text.count <= 200 else { throw ActivationError(.linkMalformed) }
        return try ApplicationToken(parsing: text)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: ServiceRequestContext) async throws -> T {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") ?? false else {
            throw APIFailure(status: .unsupportedMediaType, WireError(code: "unsupportedMediaType", message: "Send application/json."))
        }
        let buffer = try await collect(request, limit: settings.maximumJSONBody)
        do {
            return try WireFormat.decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw APIFailure(
                status: .badRequest, WireError(code: "badRequest", message: "The body is not the JSON this endpoint takes (see /openapi.yaml)."))
        }
    }

    private func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIFailure(status: .contentTooLarge, WireError(code: "payloadTooLarge", message: "The body is larger than \(limit) bytes."))
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch {
            throw APIFailure(status: .contentTooLarge, WireError(code: "payloadTooLarge", message: "The body is larger than \(limit) bytes."))
        }
    }

    private func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try WireFormat.encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Runs an endpoint, turning every refusal into a JSON error with its status; an unexpected failure
    /// is logged (without the request's data) and answered 500.
    private func handleJSON(_ context: ServiceRequestContext, _ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let failure as APIFailure {
            var response = try json(failure.body, status: failure.status)
            if let retryAfter = failure.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
            return response
        } catch let refusal as ActivationError {
            let body = WireError(refusal)
            return try json(body, status: HTTPResponse.Status(code: body.httpStatus))
        } catch let error as AuthorityError {
            switch error.code {
            case .badRequest, .csrInvalid:
                return try json(WireError(code: "badRequest", message: error.reason), status: .badRequest)
            case .notAuthorized:
                return try json(WireError(code: "notAuthorized", message: error.reason), status: .forbidden)
            case .busy:
                var response = try json(WireError(code: "busy", message: "The authority is busy; retry in a moment."), status: .serviceUnavailable)
                response.headers[.retryAfter] = "1"
                return response
            case .unavailable:
                logger.warning("request failed", metadata: ["endpoint": "\(context.endpointPath ?? "?")", "reason": "\(error.reason)"])
                var response = try json(WireError.unavailable, status: .serviceUnavailable)
                response.headers[.retryAfter] = "2"
                return response
            default:
                logger.error("request failed", metadata: ["endpoint": "\(context.endpointPath ?? "?")", "reason": "\(error.reason)"])
                return try json(WireError.internalError, status: .internalServerError)
            }
        } catch {
            logger.error("request failed", metadata: ["endpoint": "\(context.endpointPath ?? "?")", "error": "\(type(of: error))"])
            return try json(WireError.internalError, status: .internalServerError)
        }
    }

    // MARK: - CMP

    private func cmpExchange(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let reply: [UInt8]
        do {
            try limiter.admit(context)
            guard request.headers[.contentType]?.lowercased().hasPrefix(CMPResponder.mediaType) ?? false else {
                throw APIFailure(status: .unsupportedMediaType, WireError(code: "unsupportedMediaType", message: "Send \(CMPResponder.mediaType)."))
            }
            let buffer = try await collect(request, limit: settings.maximumCMPBody)
            let message = Array(buffer.readableBytesView)
            let exchange = await cmp.exchange(message, from: context.client)
            reply = exchange.bytes
            // A revocation answered here: the next /crl is signed anew, not served from the cache.
            if metrics.cmp(exchange) == "rp" { crl.invalidate() }
        } catch let failure as APIFailure {
            var response = try json(failure.body, status: failure.status)
            if let retryAfter = failure.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
            return response
        }
        // RFC 6712 §3.3: a CMP answer travels with 200 whatever its content (errors are CMP messages).
        return Response(
            status: .ok, headers: [.contentType: CMPResponder.mediaType, .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: reply)))
    }
}

/// A refusal answered before reaching the authority (size, media type, rate).
struct APIFailure: Error {
    let status: HTTPResponse.Status
    let body: WireError
    var retryAfter: Int?

    init(status: HTTPResponse.Status, _ body: WireError, retryAfter: Int? = nil) {
        self.status = status
        self.body = body
        self.retryAfter = retryAfter
    }
}

/// A method a path does not take is answered 405 with `Allow`, not 404.
struct MethodNotAllowed: RouterMiddleware {
    typealias Context = ServiceRequestContext
    /// Each path (`*` for one segment) and the one method it takes.
    static let routes: [([String], HTTPRequest.Method)] = [
        (["api", "v1", "applications", "*"], .get), (["api", "v1", "applications", "*", "identity"], .post),
        (["api", "v1", "applications", "*", "renewal"], .post), (["api", "v1", "ca"], .get), (["api", "v1", "about"], .get),
        (["api", "v1", "recovery"], .post),
        (["openapi.yaml"], .get), (["pkix"], .post), (["crl"], .get),
        (["health"], .get), (["metrics"], .get),
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let segments = request.uri.path.split(separator: "/").map(String.init)
            guard
                let route = Self.routes.first(where: { pattern, _ in
                    pattern.count == segments.count && zip(pattern, segments).allSatisfy { $0 == "*" || $0 == $1 }
                }), route.1 != request.method
            else { throw error }
            return Response(status: .methodNotAllowed, headers: [.allow: route.1.rawValue])
        }
    }
}

/// One structured line per request: method, route pattern (never the path with its token), status,
/// duration.
///
/// No body, header or query is logged.
struct AccessLog: RouterMiddleware {
    typealias Context = ServiceRequestContext
    let logger: Logger
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, context, status: response.status.code, since: start)
            return response
        } catch let error as HTTPResponseError {
            log(request, context, status: error.status.code, since: start)
            throw error
        }
    }

    private func log(_ request: Request, _ context: Context, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        metrics.request(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status, duration: elapsed)
        let milliseconds = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info(
            "request",
            metadata: [
                "method": "\(request.method.rawValue)", "route": "\(context.endpointPath ?? "unmatched")", "status": "\(status)",
                "ms": "\(String(format: "%.1f", milliseconds))",
            ])
    }
}

/// `body`'s result, or `CancellationError` if it takes longer than `limit` (it is then cancelled).
func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw CancellationError()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        return first
    }
}
