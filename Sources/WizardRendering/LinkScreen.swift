import ScreenModel
import Wizard

/// Step 1 — the approval email's link.
func renderLinkScreen(_ canvas: inout Canvas) {
    if let fingerprint = canvas.state.authorityToConfirm {
        var row = canvas.paragraph(canvas.t("authority.confirm.intro"), row: canvas.bodyTop + 1)
        row += 1
        canvas.screen.put(canvas.t("authority.confirm.label"), row: row, column: canvas.margin, style: Styles.label)
        // 95 characters: two halves, split at a colon.
        let halves = fingerprint.count > 48 ? [String(fingerprint.prefix(48)), String(fingerprint.dropFirst(48))] : [fingerprint]
        for (offset, half) in halves.enumerated() {
            canvas.screen.put(half, row: row + 1 + offset, column: canvas.margin + 2, style: Styles.title)
        }
        canvas.button(.trustAuthority, labelKey: "button.trustAuthority", row: row + 2 + halves.count, column: canvas.margin)
        return
    }
    if canvas.state.recoveryForm {
        var row = canvas.paragraph(canvas.t("recovery.intro"), row: canvas.bodyTop + 1)
        row += 1
        canvas.screen.put(canvas.t("recovery.label"), row: row, column: canvas.margin, style: Styles.label)
        canvas.field(.recoveryEmail, row: row + 1, column: canvas.margin, width: canvas.contentWidth)
        canvas.button(.sendRecovery, labelKey: "button.sendRecovery", row: row + 3, column: canvas.margin)
        return
    }
    var row = canvas.paragraph(canvas.t("link.intro"), row: canvas.bodyTop + 1)
    row += 1
    canvas.screen.put(canvas.t("link.label"), row: row, column: canvas.margin, style: Styles.label)
    canvas.field(.link, row: row + 1, column: canvas.margin, width: canvas.contentWidth)
    let column = canvas.button(.next, labelKey: "button.next", row: row + 3, column: canvas.margin)
    canvas.button(.recover, labelKey: "button.recover", row: row + 3, column: column)
}
