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
    // The status column clears the longest name in this language ("Fournisseur de magasin de clés").
    let nameWidth = ComponentKind.allCases.map { DisplayWidth.of(canvas.t($0.nameKey)) }.max() ?? 0
    let statusColumn = canvas.margin + max(24, nameWidth) + 2
    // The version or the reason goes under the name, across the width, so a long reason stays short in rows.
    let detailColumn = canvas.margin + 4
    let detailWidth = canvas.contentWidth - 4
    for report in components {
        canvas.screen.put(canvas.t(report.kind.nameKey), row: row, column: canvas.margin, style: Styles.label)
        switch report.status {
        case .installed(let version):
            canvas.screen.put("✔ " + canvas.t("components.installed"), row: row, column: statusColumn, style: Styles.success)
            row = canvas.paragraph(version, row: row + 1, column: detailColumn, style: Styles.dim, width: detailWidth)
        case .missing(let reason):
            canvas.screen.put("✘ " + canvas.t("components.missing"), row: row, column: statusColumn, style: Styles.error)
            row = canvas.paragraph(canvas.t(reason), row: row + 1, column: detailColumn, width: detailWidth)
        case .failed(let reason, let detail):
            canvas.screen.put("✘ " + canvas.t("components.failed"), row: row, column: statusColumn, style: Styles.error)
            let text = canvas.t(reason, ["detail": InputText.printable(detail, limit: 160)])  // a folder path must show whole
            row = canvas.paragraph(text, row: row + 1, column: detailColumn, width: detailWidth)
        }
        row += 1
    }
    // A component Paraphe cannot install: its reason and the notice point to the instructions
    // (a third paragraph here pushed the buttons over the text).
    var column = canvas.margin
    let buttonRow = min(row, canvas.bodyBottom - 1)
    if focusOrder(canvas.state).contains(.button(.install)) {
        column = canvas.button(.install, labelKey: "button.install", row: buttonRow, column: column)
    }
    column = canvas.button(.recheck, labelKey: "button.recheck", row: buttonRow, column: column)
    canvas.button(.next, labelKey: "button.next", row: buttonRow, column: column)
}
