import Activation
import ScreenModel
import Wizard

/// Draws the whole wizard for a terminal of `width` × `height`.
public func render(_ state: WizardState, width: Int, height: Int) -> Screen {
    var canvas = Canvas(state, width: width, height: height)
    if width < WizardState.minimumWidth || height < WizardState.minimumHeight {
        renderTooSmall(&canvas)
        return canvas.screen
    }
    renderHeader(&canvas)
    if state.showHelp {
        renderHelp(&canvas)
    } else {
        switch state.step {
        case .link: renderLinkScreen(&canvas)
        case .identity: renderIdentityScreen(&canvas)
        case .components: renderComponentsScreen(&canvas)
        case .renewal: renderRenewalScreen(&canvas)
        case .activation: renderActivationScreen(&canvas)
        }
    }
    renderNotice(&canvas)
    renderContact(&canvas)
    renderFooter(&canvas)
    renderDemoHint(&canvas)
    if state.work != nil || state.showHelp { canvas.screen.cursor = nil }
    return canvas.screen
}

/// Draws the state at its own size.
public func render(_ state: WizardState) -> Screen { render(state, width: state.width, height: state.height) }

/// The demo's crib line: the answers on step 2, the reference number on step 5's form.
private func renderDemoHint(_ canvas: inout Canvas) {
    let state = canvas.state
    guard let hints = state.demo, !state.showHelp, state.work == nil else { return }
    let line: String
    switch state.step {
    case .link: line = canvas.t("demo.hint.link")
    case .identity: line = canvas.t("demo.hint.answers", ["answers": hints.answers.joined(separator: " / ")])
    case .activation where state.activationStage == .form: line = canvas.t("demo.hint.reference", ["reference": hints.reference])
    default: return
    }
    let row = canvas.screen.height - 6
    canvas.screen.put(DisplayWidth.prefix(line, columns: canvas.screen.width - 4), row: row, column: 2, style: Styles.demoHint)
}

private func renderTooSmall(_ canvas: inout Canvas) {
    let message = canvas.t("screen.tooSmall", ["width": String(canvas.screen.width), "height": String(canvas.screen.height)])
    let lines = DisplayWidth.wrap(message, columns: max(1, canvas.screen.width - 2))
    let top = max(0, (canvas.screen.height - lines.count) / 2)
    for (index, line) in lines.enumerated() {
        let column = max(0, (canvas.screen.width - DisplayWidth.of(line)) / 2)
        canvas.screen.put(line, row: top + index, column: column, style: Styles.title)
    }
    canvas.screen.cursor = nil
}

private func renderHeader(_ canvas: inout Canvas) {
    let width = canvas.screen.width
    canvas.screen.fill(row: 0, column: 0, width: width, height: 1, style: Styles.header)
    canvas.screen.put(" " + canvas.t("app.title"), row: 0, column: 0, style: Styles.header)
    let language = canvas.state.language == .en ? "English" : "Français"
    canvas.screen.put(language + " ", row: 0, column: width - DisplayWidth.of(language) - 1, style: Styles.header)
    let step = canvas.state.step
    let heading = canvas.t("step.heading", ["n": String(step.rawValue), "title": canvas.t(step.titleKey)])
    canvas.screen.put(heading, row: 1, column: canvas.margin, style: Styles.title)
    // Five-step progress: done ✔, current ●, to come ○.
    var column = canvas.margin
    for item in WizardStep.allCases {
        let done = item < step || (item == step && step == .activation && canvas.state.activationStage == .summary)
        let mark = done ? "✔" : (item == step ? "●" : "○")
        let style = item == step ? Styles.title : (done ? Styles.success : Styles.dim)
        let label = "\(mark) \(item.rawValue) \(canvas.t(item.shortKey))"
        column += canvas.screen.put(label, row: 2, column: column, style: style)
        if item != .activation { column += canvas.screen.put(" › ", row: 2, column: column, style: Styles.dim) }
    }
    canvas.screen.put(String(repeating: "─", count: width), row: 3, column: 0, style: Styles.dim)
}

private func renderNotice(_ canvas: inout Canvas) {
    let top = canvas.screen.height - 5
    let text: String
    let style: Style
    if let work = canvas.state.work {
        text = "… " + canvas.t(work.messageKey)
        style = Styles.info
    } else if let countdown = canvas.state.countdown {
        // Kiosk: the warning before everything is wiped takes the notice's place (a key brings it back).
        text = canvas.t(countdown.messageKey, ["seconds": String(countdown.seconds)])
        style = Styles.countdown
    } else if let notice = canvas.state.notice, !canvas.state.showHelp {
        switch notice.tone {
        case .error: style = Styles.error
        case .info: style = Styles.info
        case .success: style = Styles.success
        }
        let mark = notice.tone == .error ? "✘ " : (notice.tone == .success ? "✔ " : "ℹ ")
        // The contact is drawn apart, above the message (`renderContact`), not in it.
        text = mark + notice.text(canvas.text.withoutContact)
    } else {
        return
    }
    let lines = DisplayWidth.wrap(text, columns: canvas.contentWidth)
    // Up to three lines above the footer rule; a longer message is cut with an ellipsis.
    let shown = Array(lines.prefix(3))
    for (index, line) in shown.enumerated() {
        var content = line
        if index == 2, lines.count > 3 { content = DisplayWidth.prefix(line, columns: canvas.contentWidth - 1) + "…" }
        canvas.screen.fill(row: top + index, column: 0, width: canvas.screen.width, height: 1, style: .plain)
        canvas.screen.put(content, row: top + index, column: canvas.margin, style: style)
    }
}

private func renderFooter(_ canvas: inout Canvas) {
    let height = canvas.screen.height
    canvas.screen.put(String(repeating: "─", count: canvas.screen.width), row: height - 2, column: 0, style: Styles.dim)
    var keys: [(String, String)] = []
    let state = canvas.state
    if state.showHelp {
        keys = [(canvas.t("keyname.escape"), canvas.t("key.closeHelp")), ("F2", canvas.t("key.language"))]
    } else if state.work != nil {
        keys = [("F1", canvas.t("key.help")), ("F2", canvas.t("key.language"))]
    } else {
        // On the key type, ←/→ choose; Tab is then left out so that F10 still fits at 80 columns.
        if state.focus == .keyChoice {
            keys.append((canvas.t("keyname.leftRight"), canvas.t("key.changeKeyType")))
        } else if focusOrder(state).count > 1 {
            keys.append((canvas.t("keyname.tab"), canvas.t("key.move")))
        }
        if !focusOrder(state).isEmpty { keys.append((canvas.t("keyname.enter"), canvas.t(enterKey(state)))) }
        if state.canGoBack { keys.append((canvas.t("keyname.escape"), canvas.t("key.back"))) }
        keys.append(("F1", canvas.t("key.help")))
        keys.append(("F2", canvas.t("key.language")))
    }
    if !state.kiosk { keys.append(("F10", canvas.t("key.quit"))) }
    var column = 1
    for (key, label) in keys {
        let used = DisplayWidth.of(key) + 1 + DisplayWidth.of(label) + 2
        guard column + used <= canvas.screen.width else { break }
        column += canvas.screen.put(key, row: height - 1, column: column, style: Styles.label)
        column += canvas.screen.put(" " + label + "  ", row: height - 1, column: column)
    }
}

private func enterKey(_ state: WizardState) -> String {
    if state.notice?.offersRetry == true, state.focus != .hideAnswers, state.focus != .installProvider, state.focus != .button(.recheck) {
        return "key.retry"
    }
    switch state.focus {
    case .hideAnswers, .installProvider: return "key.toggle"
    case .button(.install): return "key.install"
    case .button(.recheck): return "key.recheck"
    case .button(.renew): return "key.renew"
    case .button(.recover): return "key.recover"
    case .button(.trustAuthority): return "key.trust"
    case .button(.update): return "key.update"
    case .button(.sendRecovery), .field(.recoveryEmail): return "key.send"
    default:
        switch state.step {
        case .activation:
            switch state.activationStage {
            case .form: return "key.activate"
            case .finishParked: return "key.finishParked"
            case .login: return "key.login"
            case .summary: return state.kiosk ? "key.next" : "key.finish"
            }
        default: return "key.next"
        }
    }
}

private func renderHelp(_ canvas: inout Canvas) {
    let step = canvas.state.step
    var row = canvas.bodyTop + 1
    canvas.screen.put(canvas.t("help.title", ["title": canvas.t(step.titleKey)]), row: row, column: canvas.margin, style: Styles.title)
    row += 2
    row = canvas.paragraph(canvas.t("help.step\(step.rawValue)"), row: row) + 1
    // The last row help may use: above the footer, or above the work or the kiosk's countdown, which stay shown (a
    // message waits for the help to close).
    let state = canvas.state
    let bottom = state.work != nil || state.countdown != nil ? canvas.screen.height - 6 : canvas.screen.height - 3
    let contact = state.customerService.map { contactLines($0, canvas) } ?? []
    let keys = canvas.t(state.kiosk ? "help.keys.kiosk" : "help.keys")
    let keyLines = DisplayWidth.wrap(keys, columns: canvas.contentWidth).count
    // The keys are a reminder (the footer names them): they give way to the customer service when both do not fit.
    if row + keyLines - 1 <= bottom - (contact.isEmpty ? 0 : contact.count + 1) {
        row = canvas.paragraph(keys, row: row, style: Styles.dim) + 1
    }
    if !contact.isEmpty, row + contact.count - 1 <= bottom { drawContact(contact, top: row, &canvas) }
}

/// The customer service as the screen shows it: its name, then the ways to reach it, then its hours, each wrapped.
private func contactLines(_ customerService: CustomerService, _ canvas: Canvas) -> [(String, Style)] {
    let contact = customerService.contact(canvas.state.language)
    var lines: [(String, Style)] = [(contact.name ?? canvas.t("customerService.defaultName"), Styles.title)]
    // The ways to reach it on as few lines as they fit, never one cut in two (unless it is wider than a line).
    var line = ""
    for item in [contact.phone, contact.email, contact.web].compactMap({ $0 }) {
        if !line.isEmpty, DisplayWidth.of(line + " · " + item) > canvas.contentWidth {
            lines.append((line, .plain))
            line = ""
        }
        line += (line.isEmpty ? "" : " · ") + item
    }
    for text in [line, contact.hours ?? ""] where !text.isEmpty {
        lines += DisplayWidth.wrap(text, columns: canvas.contentWidth).map { ($0, Style.plain) }
    }
    return lines
}

private func drawContact(_ lines: [(String, Style)], top: Int, _ canvas: inout Canvas) {
    for (index, (text, style)) in lines.enumerated() {
        canvas.screen.put(text, row: top + index, column: canvas.margin, style: style, limit: canvas.contentWidth)
    }
}

/// A message that sends the person to customer service has the contact drawn just above it, in rows the screen left
/// empty (else F1 has it).
private func renderContact(_ canvas: inout Canvas) {
    let state = canvas.state
    guard !state.showHelp, state.work == nil, state.countdown == nil, let notice = state.notice, let customerService = state.customerService,
        canvas.text.mentionsCustomerService(notice.messageKey)
    else { return }
    let lines = contactLines(customerService, canvas)
    // Above the message, leaving the row just above it (the demo's hint row) alone.
    let bottom = canvas.screen.height - 7
    let top = bottom - lines.count + 1
    guard top > canvas.bodyTop, (top...bottom).allSatisfy({ row in (0..<canvas.screen.width).allSatisfy { canvas.screen[row, $0] == .blank } })
    else { return }
    drawContact(lines, top: top, &canvas)
}
