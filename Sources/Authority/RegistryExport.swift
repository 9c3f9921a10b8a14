import Foundation

/// Every row of a registry, table by table, as stored (for `paraphe-authority migrate`, which moves a
/// single machine's SQLite registry into the PostgreSQL database of a fleet, keeping every id).
package struct RegistryExport: Sendable {
    package struct Application: Sendable {
        package var id: Int64
        package var token, name, email, language, status: String
        package var identityFailures: Int
        package var approvedAt: Double
        package var activatedAt, revokedAt: Double?
        package var renewals: String
        package var certificateSerial: String?
        package var certificateDER, activatedKeyDigest: [UInt8]?
        package var recoveringSerial: String?
        package var recoveries: String
        package var recoveryRequestedAt: Double?
        package var recoveryReference: String?
        package var recoverySealedAuthorization: [UInt8]?
    }

    package struct Question: Sendable {
        package var applicationID: Int64
        package var position: Int
        package var text: String
        package var salt, hash: [UInt8]
        package var iterations: Int
    }

    package struct Code: Sendable {
        package var id, applicationID: Int64
        package var reference: String
        package var sealedAuthorization: [UInt8]
        package var issuedAt: Double
        package var wrongReferences: Int
        package var used, superseded: Bool
    }

    package struct Certificate: Sendable {
        package var serial: String
        package var applicationID: Int64
        package var der: [UInt8]
        package var issuedAt: Double
        package var revokedAt: Double?
        package var reason: Int?
    }

    package struct CRL: Sendable {
        package var number: Int
        package var thisUpdate: Double
        package var der: [UInt8]
    }

    package struct Audit: Sendable {
        package var id: Int64
        package var at: Double
        package var actor, event: String
        package var token: String?
        package var detail: String
    }

    package struct Mail: Sendable {
        package var id, recipient: String
        package var message: [UInt8]
        package var createdAt: Double
        package var deliveredAt: Double?
        package var attempts: Int
    }

    package var applications: [Application] = []
    package var questions: [Question] = []
    package var codes: [Code] = []
    package var certificates: [Certificate] = []
    package var crls: [CRL] = []
    package var audit: [Audit] = []
    package var settings: [(key: String, value: String)] = []
    package var outbox: [Mail] = []

    package init() {}

    /// Rows per table, in the names both registries use.
    package var counts: [String: Int] {
        [
            "application": applications.count, "question": questions.count, "code": codes.count, "certificate": certificates.count,
            "crl": crls.count, "audit": audit.count, "authority": settings.count, "outbox": outbox.count,
        ]
    }
}
