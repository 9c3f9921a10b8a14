import Activation
import ScreenModel
import Wizard

/// Step 4 — renewal of the activation codes.
func renderRenewalScreen(_ canvas: inout Canvas) {
    guard let identity = canvas.state.identity else { return }
    var row = canvas.bodyTop + 1
    if identity.renewalNeeded {
        // Expired, or blocked by 5 wrong reference numbers (then the codes have not expired: say why instead).
        var reason = canvas.t("renewal.expired", ["date": canvas.text.dateTime(identity.codesExpireAt)])
        if let error = identity.renewalReason, error.messageKey != "error.codesExpired" {
            reason = error.message(in: canvas.state.language)
        }
        row = canvas.paragraph(reason, row: row, style: Styles.title)
        row += 1
        row = canvas.paragraph(canvas.t("renewal.explain"), row: row)
        row += 1
        canvas.button(.renew, labelKey: "button.renew", row: row, column: canvas.margin)
    } else if let renewal = canvas.state.renewal {
        row = canvas.paragraph(canvas.t("renewal.sent", ["email": renewal.maskedEmail]), row: row, style: Styles.title)
        row += 1
        row = canvas.paragraph(canvas.t("renewal.sentExplain", ["date": canvas.text.dateTime(renewal.expiresAt)]), row: row)
        row += 1
        canvas.button(.next, labelKey: "button.next", row: row, column: canvas.margin)
    } else {
        row = canvas.paragraph(canvas.t("renewal.valid", ["date": canvas.text.dateTime(identity.codesExpireAt)]), row: row)
        row += 1
        canvas.button(.next, labelKey: "button.next", row: row, column: canvas.margin)
    }
}
