import Authority
import Foundation
import Prometheus

/// What `GET /metrics` exposes, in the Prometheus text format (swift-prometheus): requests by route
/// pattern and status, their latency, identity checks by outcome, CMP messages and enrollments by outcome,
/// and the outbox's backlog.
///
/// Labels are route patterns and outcome names only: never a token, a path, an address, an answer or a
/// code.
final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    /// Latency buckets from 1 ms to 10 s (an identity check's three PBKDF2 take about 0.2 s).
    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(10),
    ]

    func request(route: String, method: String, status: Int, duration: Duration) {
        registry.makeCounter(
            descriptor: Self.name("http_requests", "total", "HTTP requests answered, by route pattern, method and status."),
            labels: [("route", route), ("method", method), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.name("http_request_duration", "seconds", "Time to answer an HTTP request, by route pattern."),
            labels: [("route", route), ("method", method)], buckets: Self.buckets
        ).record(duration)
    }

    /// `verified`, `wrongAnswers`, `locked`, or the refusal's code.
    func identityCheck(_ outcome: String) {
        registry.makeCounter(
            descriptor: Self.name("identity_checks", "total", "Identity checks (security questions), by outcome."), labels: [("outcome", outcome)]
        ).increment()
    }

    /// One CMP exchange: the request's type and the answer's; returns the answer's.
    @discardableResult
    func cmp(_ exchange: CMPAnswer) -> String {
        let asked = exchange.requestTag.map(Self.name) ?? "undecodable"
        let answered = Self.name(exchange.answerTag)
        registry.makeCounter(
            descriptor: Self.name("cmp_messages", "total", "CMP exchanges at /pkix/, by request and answer type."),
            labels: [("request", asked), ("answer", answered)]
        ).increment()
        if ["ir", "cr", "p10cr", "kur"].contains(asked) {
            let outcome = ["ip", "cp", "kup"].contains(answered) ? "issued" : "refused"
            registry.makeCounter(
                descriptor: Self.name("enrollments", "total", "Certificate requests (ir, cr, p10cr, kur), by outcome."),
                labels: [("outcome", outcome)]
            ).increment()
        }
        return answered
    }

    func pendingMail(_ count: Int) {
        registry.makeGauge(descriptor: Self.name("outbox", "pending", "Emails in the outbox not delivered yet.")).set(Double(count))
    }

    func awaitingConfirmations(_ count: Int) {
        registry.makeGauge(
            descriptor: Self.name(
                "cmp_enrollments", "awaiting_confirmation",
                "CMP enrollments this instance answered whose certConf has not come (kept at most 5 minutes).")
        )
        .set(Double(count))
    }

    /// `paraphe_NAME_UNIT`, with its help text.
    private static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "paraphe", metricName: name, unitName: unit, helpText: help)
    }

    func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// The label of a CMP body, by its tag (RFC 9810 §5.1.2): the types this authority answers or sends, else `other`.
    static func name(_ tag: UInt) -> String {
        switch tag {
        case 0: "ir"
        case 1: "ip"
        case 2: "cr"
        case 3: "cp"
        case 4: "p10cr"
        case 7: "kur"
        case 8: "kup"
        case 11: "rr"
        case 12: "rp"
        case 19: "pkiConf"
        case 23: "error"
        case 24: "certConf"
        default: "other"
        }
    }
}
