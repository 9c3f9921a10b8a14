import Activation
import Foundation
import ScreenModel
import Wizard

/// Step 5 — reference number and password, progress, login, summary.
func renderActivationScreen(_ canvas: inout Canvas) {
    if case .activating(let progress)? = canvas.state.work {
        renderProgress(&canvas, progress)
        return
    }
    switch canvas.state.activationStage {
    case .form: renderForm(&canvas)
    case .login: renderLogin(&canvas)
    case .summary: renderSummary(&canvas)
    }
}

private func renderForm(_ canvas: inout Canvas) {
    var row = canvas.paragraph(canvas.t("activation.intro"), row: canvas.bodyTop + 1)
    row += 1
    let labelWidth = 20
    let fieldColumn = canvas.margin + labelWidth
    let fieldWidth = canvas.screen.width - fieldColumn - canvas.margin
    let rows: [(FieldID, String, Style?)] = [
        (.reference, "activation.reference", Styles.reference),
        (.password, "activation.password", nil),
        (.confirmation, "activation.confirmation", nil),
    ]
    for (id, label, style) in rows {
        canvas.screen.put(canvas.t(label), row: row, column: canvas.margin, style: Styles.label, limit: labelWidth - 1)
        canvas.field(id, row: row, column: fieldColumn, width: fieldWidth, style: style)
        row += 1
    }
    canvas.screen.put(canvas.t("activation.keyType"), row: row, column: canvas.margin, style: Styles.label, limit: labelWidth - 1)
    let focused = canvas.state.focus == .keyChoice
    let choice = "‹ " + canvas.t(canvas.state.keyChoice.labelKey) + " ›"
    canvas.screen.put(choice, row: row, column: fieldColumn, style: focused ? Styles.focusedButton : .plain)
    if focused { canvas.screen.cursor = Position(row: row, column: fieldColumn + 2) }
    row += 2
    // The password rules, ticking live.
    let check = canvas.state.passwordCheck
    let rules = PasswordRule.allCases.filter { $0 != .maximumLength || check?.isMet(.maximumLength) == false }
    let half = (canvas.contentWidth) / 2
    for (index, rule) in rules.enumerated() {
        let met = check?.isMet(rule) ?? false
        let mark = met ? "✔ " : "✘ "
        let column = canvas.margin + (index % 2) * half
        canvas.screen.put(mark + canvas.t(rule.messageKey), row: row + index / 2, column: column,
                          style: met ? Styles.success : (check == nil ? Styles.dim : Styles.error), limit: half - 1)
    }
    row += (rules.count + 1) / 2 + 1
    canvas.button(.activate, labelKey: "button.activate", row: min(row, canvas.bodyBottom), column: canvas.margin)
}

private func renderProgress(_ canvas: inout Canvas, _ current: ActivationProgress) {
    var row = canvas.paragraph(canvas.t("activation.working"), row: canvas.bodyTop + 1)
    row += 1
    let phases = ActivationProgress.allCases
    let currentIndex = phases.firstIndex(of: current) ?? 0
    for (index, phase) in phases.enumerated() {
        let mark = index < currentIndex ? "✔" : (index == currentIndex ? "●" : " ")
        let style = index < currentIndex ? Styles.success : (index == currentIndex ? Styles.title : Styles.dim)
        canvas.screen.put("\(mark) " + canvas.t(phase.messageKey), row: row, column: canvas.margin + 2, style: style)
        row += 1
    }
}

private func renderLogin(_ canvas: inout Canvas) {
    var row = canvas.paragraph(canvas.t("activation.loginIntro"), row: canvas.bodyTop + 1)
    row += 1
    if let profile = canvas.state.profileFile {
        canvas.screen.put(canvas.t("summary.profile"), row: row, column: canvas.margin, style: Styles.label)
        row = canvas.path(InputText.printable(profile.path, limit: 200), row: row, column: canvas.margin + 20, width: canvas.contentWidth - 20)
        row += 1
    }
    canvas.screen.put(canvas.t("activation.password"), row: row, column: canvas.margin, style: Styles.label, limit: 19)
    canvas.field(.loginPassword, row: row, column: canvas.margin + 20, width: canvas.screen.width - canvas.margin * 2 - 20)
    canvas.button(.login, labelKey: "button.login", row: row + 2, column: canvas.margin)
}

private func renderSummary(_ canvas: inout Canvas) {
    guard let summary = canvas.state.summary else { return }
    var row = canvas.bodyTop + 1
    canvas.screen.put(canvas.t("summary.title"), row: row, column: canvas.margin, style: Styles.success)
    row += 2
    let valueColumn = canvas.margin + 18
    let valueWidth = canvas.screen.width - valueColumn - canvas.margin
    func line(_ key: String, _ value: String, isPath: Bool = false) {
        canvas.screen.put(canvas.t(key).trimmingCharacters(in: .whitespaces), row: row, column: canvas.margin, style: Styles.label, limit: 17)
        let shown = InputText.printable(value, limit: 300)
        row = isPath ? canvas.path(shown, row: row, column: valueColumn, width: valueWidth)
            : canvas.paragraph(shown, row: row, column: valueColumn, width: valueWidth)
    }
    line("summary.subject", summary.subject)
    if let email = summary.email { line("summary.email", email) }
    line("summary.serial", summary.serialHex)
    // 95 characters: split at a colon so it reads as two halves.
    let fingerprint = summary.sha256Fingerprint
    let half = fingerprint.count > valueWidth ? String(fingerprint.prefix(48)) + " " + String(fingerprint.dropFirst(48)) : fingerprint
    line("summary.fingerprint", half)
    line("summary.validity", canvas.text.dateTime(summary.notBefore) + " → " + canvas.text.dateTime(summary.notAfter))
    if let profile = summary.profileFile { line("summary.profile", profile.path, isPath: true) }
    if let certificate = summary.certificateFile { line("summary.certificate", certificate.path, isPath: true) }
    canvas.button(.finish, labelKey: canvas.state.kiosk ? "button.nextPerson" : "button.finish", row: min(row + 1, canvas.bodyBottom), column: canvas.margin)
}
