import Activation
import ScreenModel
import Wizard

/// Step 3 — required software, checked on entry.
func renderComponentsScreen(_ canvas: inout Canvas) {
    var row = canvas.paragraph(canvas.t("components.intro"), row: canvas.bodyTop + 1)
    row += 1
    let components = canvas.state.components
    if components.isEmpty {
        canvas.screen.put(canvas.t("work.checkingComponents"), row: row, column: canvas.margin, style: Styles.info)
        return
    }
    for report in components {
        canvas.screen.put(canvas.t(report.kind.nameKey), row: row, column: canvas.margin, style: Styles.label)
        let column = canvas.margin + 26
        let width = canvas.screen.width - column - canvas.margin
        switch report.status {
        case .installed(let version):
            canvas.screen.put("✔ " + canvas.t("components.installed"), row: row, column: column, style: Styles.success)
            row = canvas.paragraph(version, row: row + 1, column: column + 2, style: Styles.dim, width: width - 2)
        case .missing(let reason):
            canvas.screen.put("✘ " + canvas.t("components.missing"), row: row, column: column, style: Styles.error)
            row = canvas.paragraph(canvas.t(reason), row: row + 1, column: column + 2, width: width - 2)
        case .failed(let reason, let detail):
            canvas.screen.put("✘ " + canvas.t("components.failed"), row: row, column: column, style: Styles.error)
            row = canvas.paragraph(canvas.t(reason, ["detail": InputText.printable(detail, limit: 60)]), row: row + 1, column: column + 2, width: width - 2)
        }
        row += 1
    }
    if components.contains(where: { !$0.status.isInstalled && !$0.installable }) {
        row = canvas.paragraph(canvas.t("components.keystoreHelp"), row: row, style: Styles.dim)
        row += 1
    }
    var column = canvas.margin
    let buttonRow = min(row, canvas.bodyBottom - 1)
    if focusOrder(canvas.state).contains(.button(.install)) {
        column = canvas.button(.install, labelKey: "button.install", row: buttonRow, column: column)
    }
    column = canvas.button(.recheck, labelKey: "button.recheck", row: buttonRow, column: column)
    canvas.button(.next, labelKey: "button.next", row: buttonRow, column: column)
}
