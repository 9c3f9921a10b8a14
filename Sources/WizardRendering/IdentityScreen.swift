import Activation
import ScreenModel
import Wizard

/// Step 2 — the three security questions.
func renderIdentityScreen(_ canvas: inout Canvas) {
    if canvas.state.dead {
        // Locked (or activated, revoked): no questions, only what happened (the notice) and the way out.
        canvas.paragraph(canvas.t("identity.dead"), row: canvas.bodyTop + 1)
        return
    }
    let remaining = canvas.state.overview?.identityAttemptsRemaining ?? ActivationPolicy.identityAttempts
    var row = canvas.paragraph(canvas.t("identity.intro", ["remaining": String(remaining)]), row: canvas.bodyTop + 1)
    row += 1
    let questions = canvas.state.overview?.questions ?? []
    for (index, id) in FieldID.answers.enumerated() {
        let question = index < questions.count ? InputText.printable(questions[index], limit: 200) : ""
        canvas.screen.put(canvas.cut("\(index + 1). " + question, columns: canvas.contentWidth), row: row, column: canvas.margin, style: Styles.label)
        canvas.field(id, row: row + 1, column: canvas.margin + 3, width: canvas.contentWidth - 3)
        row += 2
    }
    row += 1
    let focused = canvas.state.focus == .hideAnswers
    let box = canvas.state.hideAnswers ? "[x] " : "[ ] "
    canvas.screen.put(box + canvas.t("identity.hideAnswers"), row: row, column: canvas.margin, style: focused ? Styles.focusedButton : .plain)
    if focused { canvas.screen.cursor = Position(row: row, column: canvas.margin + 1) }
    canvas.button(.next, labelKey: "button.next", row: row + 2, column: canvas.margin)
}
