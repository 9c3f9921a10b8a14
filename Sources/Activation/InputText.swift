/// The text fields a person fills in, each with its length limit.
public enum InputField: String, Sendable, CaseIterable {
    case link, answer, reference, password, name, email, question, file

    /// The most characters the field takes.
    public var limit: Int {
        switch self {
        case .link: 512
        case .answer: 128
        case .reference: 32
        case .password: 128
        case .name: 128
        case .email: 254
        case .question: 200
        case .file: 64 * 1024
        }
    }

    public var messageKey: String { "field.\(rawValue)" }
}

/// Why a piece of input was refused.
public enum InputProblem: String, Sendable, Equatable {
    case empty, tooLong, controlCharacters, invalidUTF8, bidiControls
}

/// Input is data: checks and cleans what was typed, pasted or read from a file.
public enum InputText {
    /// True for characters that must never reach a terminal or a record: C0/C1 controls, DEL.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// True for bidirectional overrides and isolates, which can make text read differently than it is.
    public static func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
        (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
            || scalar.value == 0x200E || scalar.value == 0x200F || scalar.value == 0x061C
    }

    /// Decodes UTF-8 strictly.
    public static func decode(_ bytes: some Collection<UInt8>, field: InputField) throws(ActivationError) -> String {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var scalars = String.UnicodeScalarView()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): scalars.append(scalar)
            case .emptyInput: break loop
            case .error: throw ActivationError(.invalidInput(field: field, problem: .invalidUTF8))
            }
        }
        return String(scalars)
    }

    /// Validates a whole value: trimmed of surrounding blanks, not empty, within the field's limit,
    /// no control characters or bidi overrides.
    ///
    /// Returns the trimmed text.
    public static func validate(_ text: String, field: InputField) throws(ActivationError) -> String {
        if text.unicodeScalars.count > field.limit * 4 {
            throw ActivationError(.invalidInput(field: field, problem: .tooLong))
        }
        let trimmed = field == .password ? text : trimBlanks(text)
        if trimmed.isEmpty { throw ActivationError(.invalidInput(field: field, problem: .empty)) }
        for scalar in trimmed.unicodeScalars {
            if isControl(scalar) && !(field == .file && (scalar == "\n" || scalar == "\r")) {
                throw ActivationError(.invalidInput(field: field, problem: .controlCharacters))
            }
            if isBidiControl(scalar) {
                throw ActivationError(.invalidInput(field: field, problem: .bidiControls))
            }
        }
        if trimmed.count > field.limit { throw ActivationError(.invalidInput(field: field, problem: .tooLong)) }
        return trimmed
    }

    /// Cleans typed or pasted text for a field: control characters, escape sequences and bidi
    /// overrides are dropped; the result is cut at `limit`.
    ///
    /// `truncated` tells whether text was cut.
    public static func clean(_ text: String, limit: Int) -> (text: String, truncated: Bool) {
        var scalars = String.UnicodeScalarView()
        var iterator = text.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            if scalar == "\u{1B}" || scalar == "\u{9B}" || scalar == "\u{9D}" || scalar == "\u{90}" {
                skipEscapeSequence(after: scalar, &iterator)
                continue
            }
            if isControl(scalar) || isBidiControl(scalar) { continue }
            scalars.append(scalar)
        }
        let cleaned = String(scalars)
        if cleaned.count > limit { return (String(cleaned.prefix(limit)), true) }
        return (cleaned, false)
    }

    /// Skips the rest of an ESC/CSI/OSC/DCS sequence.
    private static func skipEscapeSequence(after introducer: Unicode.Scalar, _ iterator: inout String.UnicodeScalarView.Iterator) {
        var kind = introducer
        if introducer == "\u{1B}" {
            guard let next = iterator.next() else { return }
            switch next {
            case "[": kind = "\u{9B}"
            case "]": kind = "\u{9D}"
            case "P", "X", "^", "_": kind = "\u{90}"
            default: return  // two-character escape: dropped
            }
        }
        if kind == "\u{9B}" {
            // CSI: parameters and intermediates, then one final byte 0x40–0x7E.
            while let scalar = iterator.next() {
                if (0x40...0x7E).contains(scalar.value) { return }
            }
        } else {
            // OSC / DCS / PM / APC: until BEL or ST (ESC \ or 0x9C).
            while let scalar = iterator.next() {
                if scalar == "\u{07}" || scalar == "\u{9C}" { return }
                if scalar == "\u{1B}" {
                    _ = iterator.next()
                    return
                }
            }
        }
    }

    /// Shows untrusted text safely on one line: controls become `?`, cut at `limit` with `…`.
    public static func printable(_ text: String, limit: Int = 60) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if out.unicodeScalars.count >= limit {
                out += "…"
                break
            }
            out.unicodeScalars.append(isControl(scalar) || isBidiControl(scalar) ? "?" : scalar)
        }
        return out
    }

    /// `text` without the blanks around it (any Unicode whitespace).
    static func trimBlanks(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars[...]
        while let first = scalars.first, first.properties.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
