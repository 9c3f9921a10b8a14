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
    case .finishParked: renderLogin(&canvas, intro: "activation.finishParkedIntro", button: .finishParked, label: "button.finishParked")
    case .login: renderLogin(&canvas, intro: "activation.loginIntro", button: .login, label: "button.login")
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
        // The dictionary rule not checked yet (typing): neither met nor failed.
        let pending = rule == .notCommon && check?.dictionaryPending == true
        let mark = met ? "✔ " : (pending ? "… " : "✘ ")
        let column = canvas.margin + (index % 2) * half
        canvas.screen.put(
            mark + canvas.t(rule.messageKey), row: row + index / 2, column: column,
            style: met ? Styles.success : (check == nil || pending ? Styles.dim : Styles.error), limit: half - 1)
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

private func renderLogin(_ canvas: inout Canvas, intro: String, button: ButtonID, label: String) {
    var row = canvas.paragraph(canvas.t(intro), row: canvas.bodyTop + 1)
    row += 1
    if let profile = canvas.state.profileFile {
        canvas.screen.put(canvas.t("summary.profile"), row: row, column: canvas.margin, style: Styles.label)
        row = canvas.path(InputText.printable(profile.path, limit: 200), row: row, column: canvas.margin + 20, width: canvas.contentWidth - 20)
        row += 1
    }
    canvas.screen.put(canvas.t("activation.password"), row: row, column: canvas.margin, style: Styles.label, limit: 19)
    canvas.field(.loginPassword, row: row, column: canvas.margin + 20, width: canvas.screen.width - canvas.margin * 2 - 20)
    if button == .login, canvas.state.offerProvider {
        row += 2
        let focused = canvas.state.focus == .installProvider
        let box = canvas.state.installProvider ? "[x] " : "[ ] "
        canvas.screen.put(box, row: row, column: canvas.margin, style: focused ? Styles.focusedButton : .plain)
        if focused { canvas.screen.cursor = Position(row: row, column: canvas.margin + 1) }
        row = canvas.paragraph(canvas.t("login.offerProvider"), row: row, column: canvas.margin + 4, width: canvas.contentWidth - 4) - 1
    }
    canvas.button(button, labelKey: label, row: row + 2, column: canvas.margin)
}

private func renderSummary(_ canvas: inout Canvas) {
    guard let summary = canvas.state.summary else { return }
    // The message line says "Your digital signature is activated": the rows start at once.
    var row = canvas.bodyTop + 1
    let valueColumn = canvas.margin + SummaryFormat.labelWidth + 1
    let valueWidth = canvas.screen.width - valueColumn - canvas.margin
    for line in SummaryFormat.rows(summary, language: canvas.state.language, compact: true) {
        canvas.screen.put(line.label, row: row, column: canvas.margin, style: Styles.label, limit: SummaryFormat.labelWidth)
        // The 95-character fingerprint is split at a colon, so it reads as two halves.
        let value =
            line.value.count > valueWidth && !line.isPath && line.value.count > 48
            ? String(line.value.prefix(48)) + " " + String(line.value.dropFirst(48)) : line.value
        row =
            line.isPath
            ? canvas.path(value, row: row, column: valueColumn, width: valueWidth)
            : canvas.paragraph(value, row: row, column: valueColumn, width: valueWidth)
    }
    var column = canvas.margin
    if canvas.state.updatePassword != nil {
        column = canvas.button(.update, labelKey: "button.update", row: min(row + 1, canvas.bodyBottom), column: column)
    }
    canvas.button(.finish, labelKey: canvas.state.kiosk ? "button.nextPerson" : "button.finish", row: min(row + 1, canvas.bodyBottom), column: column)
}
