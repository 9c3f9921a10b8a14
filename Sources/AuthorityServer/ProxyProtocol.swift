import Authority
import Logging
import NIOCore
import Synchronization

/// The real client of each connection that came through a trusted load balancer (from its PROXY protocol v2
/// header), until the connection closes.
///
/// The request context reads it; nothing else does.
final class ProxiedClients: Sendable {
    private let sources = Mutex<[ObjectIdentifier: String]>([:])

    func record(_ source: String, for channel: any Channel) { sources.withLock { $0[ObjectIdentifier(channel)] = source } }
    func forget(_ channel: any Channel) { sources.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(channel)) } }
    func source(of channel: any Channel) -> String? { sources.withLock { $0[ObjectIdentifier(channel)] } }
}

/// The one table of proxied clients of this process (channels are told apart by identity; an entry goes with its
/// connection).
let proxiedClients = ProxiedClients()

/// Reads the PROXY protocol v2 header a trusted balancer sends first, records the client it names, then steps
/// aside: the bytes after the header go on to TLS untouched.
///
/// A connection whose header is missing or malformed is closed (a balancer configured for the protocol always
/// sends one).
final class ProxyProtocolHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var pending: [UInt8] = []
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        pending += incoming.readBytes(length: incoming.readableBytes) ?? []
        switch ProxyHeader.parse(pending) {
        case .needMore:
            return
        case .invalid(let why):
            logger.notice("a trusted balancer's connection did not start with a PROXY protocol v2 header; closed", metadata: ["why": "\(why)"])
            context.close(promise: nil)
        case .local(let length):
            pass(context, after: length)
        case .proxied(let source, let length):
            proxiedClients.record(source, for: context.channel)
            pass(context, after: length)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        proxiedClients.forget(context.channel)
        context.fireChannelInactive()
    }

    /// Forwards what followed the header and leaves the pipeline.
    private func pass(_ context: ChannelHandlerContext, after length: Int) {
        let rest = Array(pending.dropFirst(length))
        pending = []
        let channel = context.channel
        // The entry goes with the connection (this handler is no longer there to see it close).
        channel.closeFuture.whenComplete { _ in proxiedClients.forget(channel) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        if !rest.isEmpty { context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: rest))) }
    }
}
