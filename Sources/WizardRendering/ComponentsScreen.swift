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
        let line = ComponentLine(report, language: canvas.state.language)
        canvas.screen.put(line.name, row: row, column: canvas.margin, style: Styles.label)
        canvas.screen.put(
            (line.isInstalled ? "✔ " : "✘ ") + line.status, row: row, column: statusColumn,
            style: line.isInstalled ? Styles.success : Styles.error)
        row = canvas.paragraph(line.detail, row: row + 1, column: detailColumn, style: line.isInstalled ? Styles.dim : .plain, width: detailWidth)
        // A blank row between components while there is room for it and the buttons.
        if row + 1 < canvas.bodyBottom { row += 1 }
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
