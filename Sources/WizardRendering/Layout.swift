import Activation
import ScreenModel
import Wizard

/// Styles used across screens.
enum Styles {
    static let header = Style(reverse: true)
    static let title = Style(bold: true)
    static let label = Style(bold: true)
    static let field = Style(underline: true)
    static let focusedField = Style(reverse: true)
    static let button = Style()
    static let focusedButton = Style(bold: true, reverse: true)
    static let error = Style(color: .red, bold: true)
    static let success = Style(color: .green)
    static let info = Style(color: .cyan)
    static let reference = Style(color: .red, bold: true)
    static let dim = Style(dim: true)
    static let countdown = Style(color: .yellow, bold: true, reverse: true)
    static let demoHint = Style(color: .yellow)
}

/// A screen under construction: the grid plus the localizer and state it is drawn from.
struct Canvas {
    var screen: Screen
    let state: WizardState
    let text: Localizer
    /// The first and last rows of the body (between the header and the notice).
    ///
    /// At 80×24 the body is rows 4–17, row 18 is free for hints, rows 19–21 hold the notice,
    /// 22–23 the footer.
    let bodyTop = 4
    var bodyBottom: Int { screen.height - 7 }
    let margin = 2

    init(_ state: WizardState, width: Int, height: Int) {
        screen = Screen(width: width, height: height)
        self.state = state
        text = state.localizer
    }

    var contentWidth: Int { screen.width - 2 * margin }

    func t(_ key: String, _ arguments: [String: String] = [:]) -> String { text.text(key, arguments) }

    /// Writes wrapped text from `row`, returns the next free row.
    @discardableResult
    mutating func paragraph(_ content: String, row: Int, column: Int? = nil, style: Style = .plain, width: Int? = nil) -> Int {
        let left = column ?? margin
        let lines = DisplayWidth.wrap(content, columns: width ?? (screen.width - left - margin))
        var y = row
        for line in lines {
            screen.put(line, row: y, column: left, style: style)
            y += 1
        }
        return y
    }

    /// `text` cut to `columns` columns, with `…` when something was cut.
    func cut(_ text: String, columns: Int) -> String {
        DisplayWidth.of(text) <= columns ? text : DisplayWidth.prefix(text, columns: columns - 1) + "…"
    }

    /// Writes a file path wrapped at its `/` where possible, returns the next free row.
    @discardableResult
    mutating func path(_ path: String, row: Int, column: Int, width: Int) -> Int {
        var lines: [String] = []
        var line = ""
        // Each piece keeps its trailing "/", so a line ends with a folder name and its slash.
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        for (index, part) in parts.enumerated() {
            let piece = index < parts.count - 1 ? String(part) + "/" : String(part)
            if !line.isEmpty, DisplayWidth.of(line + piece) > width {
                lines.append(line)
                line = ""
            }
            line += piece
        }
        lines.append(line)
        var y = row
        for text in lines {
            y = paragraph(text, row: y, column: column, width: width)
        }
        return y
    }

    /// Draws a text field `[ value ]` of `width` columns; returns the cursor position if focused.
    mutating func field(_ id: FieldID, row: Int, column: Int, width: Int, style: Style? = nil) {
        let field = state.field(id)
        let focused = state.focus == .field(id)
        let masked = id.isPassword || (id.isAnswer && (!focused || state.hideAnswers))
        let shown = masked ? String(repeating: "•", count: field.text.count) : field.text
        let inner = max(1, width - 4)
        // Scroll horizontally so the cursor stays visible.
        let characters = Array(shown)
        var start = 0
        var widthToCursor = DisplayWidth.of(String(characters[0..<min(field.cursor, characters.count)]))
        while widthToCursor >= inner, start < characters.count {
            widthToCursor -= DisplayWidth.of(characters[start])
            start += 1
        }
        let visible = DisplayWidth.prefix(String(characters[start...]), columns: inner)
        let boxStyle = focused ? Styles.focusedField : Styles.field
        screen.put("[ ", row: row, column: column, style: focused ? Styles.label : .plain)
        screen.fill(row: row, column: column + 2, width: inner, height: 1, style: boxStyle)
        screen.put(
            visible, row: row, column: column + 2,
            style: style.map { s in
                var m = s
                m.reverse = focused
                return m
            } ?? boxStyle, limit: inner)
        screen.put(" ]", row: row, column: column + 2 + inner, style: focused ? Styles.label : .plain)
        if focused {
            screen.cursor = Position(row: row, column: column + 2 + min(inner - 1, widthToCursor))
        }
    }

    /// Draws a button `[ Label ]`; returns the column after it.
    @discardableResult
    mutating func button(_ id: ButtonID, labelKey: String, row: Int, column: Int) -> Int {
        let focused = state.focus == .button(id)
        // After a network failure, the step's action is a retry, and says so.
        let retry = state.notice?.offersRetry == true && [.next, .activate, .renew, .install, .login, .finishParked].contains(id)
        let label = "[ " + t(retry ? "button.retry" : labelKey) + " ]"
        let used = screen.put(label, row: row, column: column, style: focused ? Styles.focusedButton : Styles.button)
        if focused, state.work == nil { screen.cursor = Position(row: row, column: column + 2) }
        return column + used + 3
    }
}
