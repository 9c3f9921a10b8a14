/// Colors a cell may ask for; drawn as monochrome attributes when `NO_COLOR` is set.
public enum Color: Int, Sendable, Equatable, CaseIterable {
    case red = 1
    case green, yellow, blue, magenta, cyan
}

/// How a cell is drawn.
public struct Style: Equatable, Sendable, Hashable {
    public var color: Color?
    public var bold: Bool
    public var reverse: Bool
    public var underline: Bool
    public var dim: Bool

    public init(color: Color? = nil, bold: Bool = false, reverse: Bool = false, underline: Bool = false, dim: Bool = false) {
        self.color = color
        self.bold = bold
        self.reverse = reverse
        self.underline = underline
        self.dim = dim
    }

    public static let plain = Style()
}

/// One terminal cell.
///
/// A wide character occupies its cell and marks the next one as `continuation`.
public struct Cell: Equatable, Sendable {
    public var character: Character
    public var style: Style
    /// The right half of a wide character: drawn by the cell to its left.
    public var isContinuation: Bool

    public init(_ character: Character = " ", style: Style = .plain, isContinuation: Bool = false) {
        self.character = character
        self.style = style
        self.isContinuation = isContinuation
    }

    public static let blank = Cell()
}

/// A position on the screen.
public struct Position: Equatable, Sendable {
    public var row: Int
    public var column: Int
    public init(row: Int, column: Int) {
        self.row = row
        self.column = column
    }
}

/// A width-aware grid of cells: what the renderer produces and the terminal draws.
public struct Screen: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    /// Where the terminal cursor should sit (the focused field), or nil to hide it.
    public var cursor: Position?

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public subscript(row: Int, column: Int) -> Cell {
        guard row >= 0, row < height, column >= 0, column < width else { return .blank }
        return cells[row * width + column]
    }

    /// Writes `text` from (`row`, `column`), clipped at `limit` columns (default: the right edge).
    ///
    /// Wide characters take two cells; one that would straddle the edge is replaced by a space.
    /// Returns the number of columns used.
    @discardableResult
    public mutating func put(_ text: String, row: Int, column: Int, style: Style = .plain, limit: Int? = nil) -> Int {
        guard row >= 0, row < height else { return 0 }
        let end = min(width, column + (limit ?? width))
        var x = column
        for character in text {
            let w = DisplayWidth.of(character)
            if w == 0 { continue }
            if x + w > end {
                if x < end, x >= 0 { set(row, x, Cell(" ", style: style)) }
                break
            }
            if x >= 0 {
                set(row, x, Cell(character, style: style))
                if w == 2 { set(row, x + 1, Cell(" ", style: style, isContinuation: true)) }
            }
            x += w
        }
        return max(0, x - column)
    }

    /// Fills a rectangle with a styled blank.
    public mutating func fill(row: Int, column: Int, width w: Int, height h: Int, style: Style) {
        for r in row..<(row + h) {
            for c in column..<(column + w) { set(r, c, Cell(" ", style: style)) }
        }
    }

    private mutating func set(_ row: Int, _ column: Int, _ cell: Cell) {
        guard row >= 0, row < height, column >= 0, column < width else { return }
        // Overwriting half of a wide character blanks its other half.
        let index = row * width + column
        if cells[index].isContinuation, column > 0 { cells[index - 1] = Cell(" ", style: cells[index - 1].style) }
        if !cell.isContinuation, column + 1 < width, cells[index + 1].isContinuation {
            cells[index + 1] = Cell(" ", style: cells[index + 1].style)
        }
        cells[index] = cell
    }

    /// The text of each row (continuation cells omitted), trailing blanks kept: for snapshots and tests.
    public var lines: [String] {
        (0..<height).map { row in
            var line = ""
            for column in 0..<width {
                let cell = self[row, column]
                if !cell.isContinuation { line.append(cell.character) }
            }
            return line
        }
    }

    /// The rows as one text block with trailing blanks trimmed per line.
    public var text: String {
        lines.map { line in
            var trimmed = Substring(line)
            while trimmed.last == " " { trimmed = trimmed.dropLast() }
            return String(trimmed)
        }.joined(separator: "\n")
    }

    /// True when a row contains `needle`.
    public func contains(_ needle: String) -> Bool { lines.contains { $0.contains(needle) } }
}

/// How many columns a character takes in a terminal: 0 for combining marks and controls,
/// 2 for East Asian wide and emoji, 1 otherwise.
public enum DisplayWidth {
    public static func of(_ character: Character) -> Int {
        guard let first = character.unicodeScalars.first else { return 0 }
        let value = first.value
        if value < 0x20 || (0x7F..<0xA0).contains(value) { return 0 }
        switch first.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if isWide(value) || (character.unicodeScalars.count > 1 && first.properties.isEmojiPresentation) { return 2 }
        return 1
    }

    public static func of(_ text: String) -> Int { text.reduce(0) { $0 + of($1) } }

    static func isWide(_ v: UInt32) -> Bool {
        (0x1100...0x115F).contains(v) || (0x2E80...0x303E).contains(v) || (0x3041...0x33FF).contains(v)
            || (0x3400...0x4DBF).contains(v) || (0x4E00...0x9FFF).contains(v) || (0xA000...0xA4CF).contains(v)
            || (0xAC00...0xD7A3).contains(v) || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v)
            || (0xFF00...0xFF60).contains(v) || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1F64F).contains(v)
            || (0x1F900...0x1F9FF).contains(v) || (0x20000...0x2FFFD).contains(v) || (0x30000...0x3FFFD).contains(v)
    }

    /// Cuts `text` to at most `columns` columns.
    public static func prefix(_ text: String, columns: Int) -> String {
        var used = 0
        var out = ""
        for character in text {
            let w = of(character)
            if used + w > columns { break }
            used += w
            out.append(character)
        }
        return out
    }

    /// Splits text into lines of at most `columns` columns, breaking at spaces where possible.
    public static func wrap(_ text: String, columns: Int) -> [String] {
        guard columns > 0 else { return [] }
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            var lineWidth = 0
            for word in units(paragraph) {
                var word = word
                var w = of(word)
                if lineWidth > 0, lineWidth + 1 + w > columns {
                    lines.append(line)
                    line = ""
                    lineWidth = 0
                }
                while w > columns {
                    let head = prefix(word, columns: columns - lineWidth - (lineWidth > 0 ? 1 : 0))
                    if head.isEmpty {
                        lines.append(line)
                        line = ""
                        lineWidth = 0
                        continue
                    }
                    line += (lineWidth > 0 ? " " : "") + head
                    lines.append(line)
                    line = ""
                    lineWidth = 0
                    word = String(word.dropFirst(head.count))
                    w = of(word)
                }
                line += (lineWidth > 0 ? " " : "") + word
                lineWidth += (lineWidth > 0 ? 1 : 0) + w
            }
            lines.append(line)
        }
        return lines
    }

    /// The words of a paragraph, with French spaced punctuation kept on the same line as its word:
    /// `«` with the word after it; `»`, `:`, `;`, `!`, `?` with the word before it.
    static func units(_ paragraph: Substring) -> [String] {
        var units: [String] = []
        var opening: String?
        for word in paragraph.split(separator: " ", omittingEmptySubsequences: true) {
            var word = String(word)
            if let open = opening {
                word = open + " " + word
                opening = nil
            }
            if word == "«" {
                opening = word
            } else if let first = word.first, "»:;!?".contains(first), let last = units.popLast() {
                units.append(last + " " + word)
            } else {
                units.append(word)
            }
        }
        if let open = opening { units.append(open) }
        return units
    }
}
