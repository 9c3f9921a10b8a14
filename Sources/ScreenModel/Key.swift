/// A key press, as the wizard sees it.
///
/// The terminal adapter turns curses codes into these.
public enum Key: Equatable, Sendable, Hashable {
    /// A printable character (already cleaned: never a control character).
    case character(Character)
    case enter, tab, backTab, up, down, left, right, home, end, backspace, delete, escape
    /// F1…F12.
    case function(Int)
    /// Ctrl plus a letter (`.control("l")` is Ctrl-L); Tab, Enter and Backspace have their own cases.
    case control(Character)
}
