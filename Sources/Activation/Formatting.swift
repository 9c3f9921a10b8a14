import Foundation

/// One component as every front end shows it: its name, its state in a word, and the version or
/// the reason (the full screen lays the three out in columns; plain mode and the command line on a line).
public struct ComponentLine: Equatable, Sendable {
    public var name: String
    /// "installed", "missing" or "failed" in the reader's language.
    public var status: String
    /// The version when installed, else why not (with what to do).
    public var detail: String
    public var isInstalled: Bool

    public init(_ report: ComponentReport, language: Language) {
        let text = Localizer(language)
        name = text.text(report.kind.nameKey)
        isInstalled = report.status.isInstalled
        switch report.status {
        case .installed(let version):
            status = text.text("components.installed")
            detail = version
        case .missing(let reason):
            status = text.text("components.missing")
            detail = text.text(reason)
        case .failed(let reason, let detail):
            // Not broken: waiting for the person to compare the authority's fingerprint.
            status = text.text(reason == "component.reason.confirmFingerprint" ? "components.toConfirm" : "components.failed")
            // A folder path must show whole.
            self.detail = text.text(reason, ["detail": InputText.printable(detail, limit: 160)])
        }
    }

    /// "Name: status — detail", for plain mode and the command line.
    public var oneLine: String { "\(name): \(status) — \(detail)" }
}

/// The summary of an activation (or of a log-in), as label/value rows in the reader's language: the
/// full screen, plain mode and the command line all show these rows.
public enum SummaryFormat {
    public struct Row: Equatable, Sendable {
        public var label: String
        public var value: String
        /// A file path (the screen breaks it at slashes).
        public var isPath: Bool
    }

    /// The width of the label column: the screen puts values after it, and so does the summary a command prints.
    public static let labelWidth = 17

    /// The rows as lines with the labels in one column, as the screen lays them out (a command's summary).
    ///
    /// Plain mode says "label value" without the padding, which a screen reader would read out as pauses.
    public static func lines(_ summary: ActivationSummary, language: Language) -> [String] {
        rows(summary, language: language).map { row in
            row.label + String(repeating: " ", count: max(1, labelWidth + 1 - row.label.count)) + row.value
        }
    }

    /// `compact`: for the screen, where every row counts (one row for the applications, no command line).
    public static func rows(_ summary: ActivationSummary, language: Language, compact: Bool = false) -> [Row] {
        let text = Localizer(language)
        func row(_ key: String, _ value: String, isPath: Bool = false) -> Row {
            Row(label: text.text(key).trimmingCharacters(in: .whitespaces), value: InputText.printable(value, limit: 300), isPath: isPath)
        }
        var rows = [row("summary.subject", summary.certificate.subject)]
        if let email = summary.certificate.email { rows.append(row("summary.email", email)) }
        rows += [
            row("summary.serial", summary.certificate.serialHex),
            row("summary.fingerprint", summary.certificate.sha256Fingerprint),
            row("summary.validity", text.dateTime(summary.certificate.notBefore) + " → " + text.dateTime(summary.certificate.notAfter)),
            row("summary.key", text.text(summary.certificate.keyAlgorithm.labelKey)),
        ]
        if let profile = summary.profileFile { rows.append(row("summary.profile", profile.path, isPath: true)) }
        if let certificate = summary.certificateFile { rows.append(row("summary.certificate", certificate.path, isPath: true)) }
        switch summary.provider {
        case .registered(let label, let nickname, let database, let busy)?:
            rows.append(
                row(
                    "summary.applications",
                    text.text(
                        busy == nil ? "summary.provider.registered" : "summary.provider.registeredBusy",
                        ["label": label, "program": busy ?? ""])))
            if !compact {
                let directory = database.map { " -nssdir sql:" + $0 } ?? ""
                rows.append(row("summary.howToSign", "pdfsig -add-signature\(directory) -nick \"\(nickname)\" -nss-pwd PASSWORD IN.pdf OUT.pdf"))
            }
        case .failed(let reason)?:
            rows.append(
                row(
                    "summary.applications",
                    compact ? text.text("summary.provider.failedShort") : text.text("summary.provider.failed", ["reason": reason])))
        case .elsewhere(let name)?:
            rows.append(
                row("summary.applications", text.text(compact ? "summary.provider.elsewhereShort" : "summary.provider.elsewhere", ["name": name])))
        case nil:
            break
        }
        return rows
    }
}
