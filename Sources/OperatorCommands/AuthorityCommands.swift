import Activation
import ArgumentParser
import Authority
import AuthorityInterface
import CivilTime
import Foundation
import RevocationList
import SwiftASN1

package struct AuthorityCommand: AsyncParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "authority",
        abstract: "Operator commands of the embedded certification authority.",
        subcommands: operatorCommands
    )

    /// The operator commands, shared by `paraphe authority` and `paraphe-authority`.
    package static let operatorCommands: [any ParsableCommand.Type] = [Approve.self, Show.self, List.self, Audit.self, Revoke.self, CRL.self]

    package struct Approve: ProgramCommand {
        package init() {}
        package static let configuration = CommandConfiguration(
            abstract: "Approve an application: issue its codes and mail the activation link.",
            discussion: "Prints the activation link on stdout. Prefer --answers-file: arguments are visible to other local users."
        )

        @OptionGroup var data: RegistryOptions
        @Option(help: "The subscriber's full name.") var name: String
        @Option(help: "The subscriber's email address.") var email: String
        @Option(help: "The subscriber's language: en or fr.") var lang: Language = .en
        @Option(name: .customLong("question"), help: "A security question (three times, in order).") var questions: [String] = []
        @Option(name: .customLong("answer"), help: "An answer (three times, in the order of the questions).") var answers: [String] = []
        @Option(name: .customLong("answers-file"), help: "A file with the three answers, one a line.") var answersFile: String?
        @Option(name: .customLong("approved-at"), help: "When the approval happened (ISO 8601, e.g. 2026-11-01T09:00:00Z); default now.")
        var approvedAt: String?

        package func validate() throws {
            guard questions.count == 3 else { throw ValidationError("Give exactly three --question options.") }
            guard answersFile == nil || answers.isEmpty else { throw ValidationError("Give the answers with --answers-file or --answer, not both.") }
            guard answersFile != nil || answers.count == 3 else { throw ValidationError("Give three --answer options or --answers-file.") }
            if let approvedAt, ISO8601DateFormatter().date(from: approvedAt) == nil {
                throw ValidationError("--approved-at must be an ISO 8601 date and time, like 2026-11-01T09:00:00Z.")
            }
        }

        package func run(in program: ProgramContext) async throws {
            let language = defaultLanguage(nil)
            try await runReportingErrors(language: language, program: program) {
                let answerValues =
                    try answersFile.map { try readAnswers($0, language: language) }
                    ?? answers.map { SecurityAnswer(try InputText.validate($0, field: .answer)) }
                let subscriber = Subscriber(
                    name: try InputText.validate(name, field: .name),
                    email: try InputText.validate(email, field: .email),
                    language: lang
                )
                let request = ApprovalRequest(
                    subscriber: subscriber,
                    questions: try questions.map { try InputText.validate($0, field: .question) },
                    answers: answerValues,
                    approvedAt: approvedAt.flatMap { ISO8601DateFormatter().date(from: $0) }
                )
                let receipt = try await data.authority(program).approve(request)
                print(receipt.link)
                if let file = receipt.mailFile {
                    note(Localizer(language).text("cli.approved", ["mail": file.path]))
                } else {
                    note(Localizer(language).text(receipt.mailQueued ? "cli.approvedQueued" : "cli.approvedSent"))
                }
            }
        }
    }

    package struct Show: ProgramCommand {
        package init() {}
        package static let configuration = CommandConfiguration(abstract: "Show one application (no secrets).")
        @OptionGroup var data: RegistryOptions
        @Argument(help: "The activation link or its token.") var link: String
        @Flag(help: "Print JSON.") var json = false

        package func run(in program: ProgramContext) async throws {
            let language = defaultLanguage(nil)
            try await runReportingErrors(language: language, program: program) {
                let token = try ApplicationToken(parsing: link)
                let record = try await data.existingAuthority(language: language, program: program).record(for: token)
                if json {
                    print(try jsonText(record))
                } else {
                    print(describe(record))
                }
            }
        }
    }

    package struct List: ProgramCommand {
        package init() {}
        package static let configuration = CommandConfiguration(abstract: "List every application (no secrets).")
        @OptionGroup var data: RegistryOptions
        @Flag(help: "Print JSON.") var json = false

        package func run(in program: ProgramContext) async throws {
            let language = defaultLanguage(nil)
            try await runReportingErrors(language: language, program: program) {
                let records = try await data.existingAuthority(language: language, program: program).list()
                if json {
                    print(try jsonText(records))
                } else {
                    for record in records {
                        print(
                            "\(record.token)  \(record.status.rawValue)  \(InputText.printable(record.name, limit: 40))  <\(InputText.printable(record.email, limit: 60))>  expires \(iso(record.codesExpireAt))"
                        )
                    }
                }
            }
        }
    }

    package struct Audit: ProgramCommand {
        package init() {}
        package static let configuration = CommandConfiguration(abstract: "Print the append-only audit log (no secrets).")
        @OptionGroup var data: RegistryOptions
        @Flag(help: "Print JSON.") var json = false

        package func run(in program: ProgramContext) async throws {
            let language = defaultLanguage(nil)
            try await runReportingErrors(language: language, program: program) {
                let entries = try await data.existingAuthority(language: language, program: program).auditLog()
                if json {
                    print(try jsonText(entries))
                } else {
                    for entry in entries {
                        print(
                            "\(iso(entry.at))  \(entry.actor)  \(entry.event)  \(entry.token ?? "-")  \(InputText.printable(entry.detail, limit: 200))"
                        )
                    }
                }
            }
        }
    }
}

extension AuthorityCommand {
    package struct Revoke: ProgramCommand {
        package init() {}
        package static let configuration = CommandConfiguration(
            abstract: "Revoke an application (all its certificates) or one certificate, and publish a new CRL.",
            discussion: """
                TARGET is an activation link or its token (the application and every certificate it holds), or a \
                certificate serial number in hexadecimal (that certificate). Reasons (RFC 5280): \
                \(RevocationReason.allCases.map(\.name).joined(separator: ", ")). The CRL is written to DATA_DIR/ca/crl.pem.
                """
        )
        @OptionGroup var data: RegistryOptions
        @Argument(help: "A link, a token or a certificate serial number.") var target: String
        @Option(help: "The reason (RFC 5280 CRLReason name).") var reason: String = "unspecified"

        package func validate() throws {
            guard RevocationReason(name: reason) != nil else {
                throw ValidationError("--reason must be one of: \(RevocationReason.allCases.map(\.name).joined(separator: ", ")).")
            }
        }

        package func run(in program: ProgramContext) async throws {
            let language = defaultLanguage(nil)
            try await runReportingErrors(language: language, program: program) {
                let authority = try await data.existingAuthority(language: language, program: program)
                let revoked = try await authority.revoke(
                    try RevocationTarget(parsing: target), reason: RevocationReason(name: reason) ?? .unspecified)
                for serial in revoked { print(serial) }
                note(revoked.isEmpty ? "Nothing new to revoke." : "Revoked \(revoked.count) certificate(s); CRL written to \(authority.crlURL.path).")
            }
        }
    }

    package struct CRL: ProgramCommand {
        package init() {}
        package static let configuration = CommandConfiguration(
            commandName: "crl",
            abstract: "Print the current CRL (PEM), signing a new one if the newest is a day old (run daily to keep it fresh).")
        @OptionGroup var data: RegistryOptions

        package func run(in program: ProgramContext) async throws {
            let language = defaultLanguage(nil)
            try await runReportingErrors(language: language, program: program) {
                let authority = try await data.existingAuthority(language: language, program: program)
                guard let der = try await authority.revocationList() else { return }
                print(PEMDocument(type: "X509 CRL", derBytes: der).pemString)
            }
        }
    }
}

package func iso(_ date: Date) -> String { UTCDateTime(date).iso8601 }

package func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

package func describe(_ record: ApplicationRecord) -> String {
    var lines = [
        "Token:               \(record.token)",
        "Link:                \(record.link)",
        "Name:                \(InputText.printable(record.name, limit: 128))",
        "Email:               \(InputText.printable(record.email, limit: 254))",
        "Language:            \(record.language.rawValue)",
        "Status:              \(record.status.rawValue)",
        "Identity attempts:   \(record.identityAttemptsRemaining) remaining",
        "Reference number:    \(record.reference)",
        "Codes issued:        \(iso(record.codesIssuedAt))",
        "Codes expire:        \(iso(record.codesExpireAt))",
        "Renewals (24 h):     \(record.renewalsLast24h)",
        "Wrong references:    \(record.wrongReferencesInARow) in a row",
        "Approved:            \(iso(record.approvedAt))",
    ]
    if let activated = record.activatedAt { lines.append("Activated:           \(iso(activated))") }
    if let serial = record.certificateSerial { lines.append("Certificate serial:  \(serial)") }
    if let asked = record.recoveryRequestedAt { lines.append("Recovery asked:      \(iso(asked)) (waits for its identity check)") }
    if let name = record.logName { lines.append("In the logs:         application=\(name)") }
    return lines.joined(separator: "\n")
}
