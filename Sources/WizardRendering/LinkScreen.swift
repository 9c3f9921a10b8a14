import ScreenModel
import Wizard

/// Step 1 — the approval email's link.
func renderLinkScreen(_ canvas: inout Canvas) {
    var row = canvas.paragraph(canvas.t("link.intro"), row: canvas.bodyTop + 1)
    row += 1
    canvas.screen.put(canvas.t("link.label"), row: row, column: canvas.margin, style: Styles.label)
    canvas.field(.link, row: row + 1, column: canvas.margin, width: canvas.contentWidth)
    canvas.button(.next, labelKey: "button.next", row: row + 3, column: canvas.margin)
}
