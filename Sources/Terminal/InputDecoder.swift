import ScreenModel

/// What the bytes typed (or pasted) at the terminal mean.
public enum DecodedInput: Equatable, Sendable {
    case key(Key)
    /// The text of one bracketed paste, as pasted (line breaks included: the wizard decides what they
    /// become). Never keys: a line break inside a paste is not Enter.
    case paste(String)
    /// Bytes that are not UTF-8 were dropped (only those bytes; what follows is kept).
    case invalidText
    /// Bytes that are no key: an unknown escape sequence, a control character. Dropped.
    case ignored
}

/// Turns the bytes read from the terminal into keys, pastes and notes about dropped bytes.
///
/// Pure and byte-exact, so it is tested without a terminal. It knows the sequences xterm-like
/// terminals send in either cursor-key mode (`ESC [ A` and `ESC O A`, Home/End as `ESC [ H`,
/// `ESC [ 1 ~`, `ESC [ 7 ~`, `ESC O H`, …), F1–F12 (`ESC O P`…, `ESC [ 11 ~`…), bracketed paste
/// (`ESC [ 200 ~` … `ESC [ 201 ~`), and UTF-8 (a byte that cannot start or continue a character is
/// dropped alone and reported). An incomplete sequence at the end of what was read waits for more
/// bytes; `flush()` settles it when none come (a lone Esc is then the Esc key).
public struct InputDecoder: Sendable {
    private var buffer: [UInt8] = []
    /// Inside a bracketed paste: the bytes pasted so far.
    private var paste: [UInt8]?
    /// Longest escape sequence or paste kept; beyond it the bytes are dropped as garbage.
    private static let sequenceLimit = 4_096
    private static let pasteLimit = 1 << 20

    public init() {}

    /// An incomplete key waits for more bytes (a lone Esc, a cut sequence or character): if none come
    /// within the escape delay, `flush()` settles it.
    ///
    /// An open paste is not counted: its end is on its way.
    public var needsFlush: Bool { !buffer.isEmpty && paste == nil }

    /// Decodes `bytes` after what was left over; what is still incomplete stays for the next call.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [DecodedInput] {
        buffer.append(contentsOf: bytes)
        return decode(final: false)
    }

    /// No more bytes came in time: what is left is final (Esc alone is the Esc key; a cut UTF-8
    /// character is invalid).
    ///
    /// An open paste is kept open: its end marker is on its way.
    public mutating func flush() -> [DecodedInput] {
        decode(final: true)
    }

    private mutating func decode(final: Bool) -> [DecodedInput] {
        var out: [DecodedInput] = []
        var index = 0
        while index < buffer.count {
            if paste != nil {
                guard let consumed = takePaste(from: index, into: &out) else {
                    // No end marker yet: keep everything but the tail that may be its start.
                    let keep = min(buffer.count - index, 5)
                    paste?.append(contentsOf: buffer[index..<(buffer.count - keep)])
                    if (paste?.count ?? 0) > Self.pasteLimit { paste?.removeAll() }
                    index = buffer.count - keep
                    break
                }
                index = consumed
                continue
            }
            let step = decodeOne(at: index, final: final)
            guard let (length, inputs) = step else { break }  // incomplete: wait
            out += inputs
            index += length
        }
        buffer.removeFirst(index)
        if buffer.count > Self.sequenceLimit {
            buffer.removeAll()
            out.append(.ignored)
        }
        return out
    }

    /// Looks for the paste's end marker (`ESC [ 201 ~`) from `start`; on finding it, emits the paste
    /// and returns the index after the marker.
    private mutating func takePaste(from start: Int, into out: inout [DecodedInput]) -> Int? {
        let end: [UInt8] = [0x1B, 0x5B, 0x32, 0x30, 0x31, 0x7E]
        var index = start
        while index + end.count <= buffer.count {
            if buffer[index] == 0x1B, Array(buffer[index..<(index + end.count)]) == end {
                paste?.append(contentsOf: buffer[start..<index])
                let bytes = paste ?? []
                paste = nil
                let (text, invalid) = Self.utf8(bytes)
                if invalid { out.append(.invalidText) }
                if !text.isEmpty { out.append(.paste(text)) }
                return index + end.count
            }
            index += 1
        }
        return nil
    }

    /// One input at `index`: its length in bytes and what it means; nil if it needs more bytes.
    private mutating func decodeOne(at index: Int, final: Bool) -> (Int, [DecodedInput])? {
        let byte = buffer[index]
        switch byte {
        case 0x1B: return escape(at: index, final: final)
        case 0x0D, 0x0A: return (1, [.key(.enter)])
        case 0x09: return (1, [.key(.tab)])
        case 0x7F, 0x08: return (1, [.key(.backspace)])
        case 0x01...0x1A: return (1, [.key(.control(Character(Unicode.Scalar(byte + 0x60))))])
        case 0x1C...0x1F: return (1, [.key(.control(Character(Unicode.Scalar(byte + 0x40))))])
        case 0x00: return (1, [.ignored])
        case 0x20...0x7E: return (1, [.key(.character(Character(Unicode.Scalar(byte))))])
        default: return Self.character(in: buffer, at: index, final: final)
        }
    }

    /// A multi-byte UTF-8 character at `index` of `buffer` (its lead byte is 0x80 or above).
    private static func character(in buffer: [UInt8], at index: Int, final: Bool) -> (Int, [DecodedInput])? {
        let lead = buffer[index]
        let length: Int
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return (1, [.invalidText])  // a continuation byte alone, or a byte UTF-8 never uses
        }
        var value = UInt32(lead) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        for offset in 1..<length {
            guard index + offset < buffer.count else { return final ? (1, [.invalidText]) : nil }
            let next = buffer[index + offset]
            // Not a continuation byte: the lead byte alone is dropped, the next byte is read afresh.
            guard next & 0xC0 == 0x80 else { return (1, [.invalidText]) }
            value = value << 6 | UInt32(next & 0x3F)
        }
        let shortest: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
        guard value >= shortest, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value), let scalar = Unicode.Scalar(value) else {
            return (1, [.invalidText])  // over-long or a surrogate: the lead byte goes, the rest is read afresh
        }
        // C1 controls are data that must never act: dropped like other controls.
        if (0x80...0x9F).contains(value) { return (length, [.ignored]) }
        return (length, [.key(.character(Character(scalar)))])
    }

    /// Esc and what follows it.
    private mutating func escape(at index: Int, final: Bool) -> (Int, [DecodedInput])? {
        guard index + 1 < buffer.count else { return final ? (1, [.key(.escape)]) : nil }
        let introducer = buffer[index + 1]
        switch introducer {
        case 0x5B:  // CSI: parameters 0x30–0x3F, intermediates 0x20–0x2F, final 0x40–0x7E
            var end = index + 2
            while end < buffer.count, (0x20...0x3F).contains(buffer[end]) { end += 1 }
            guard end < buffer.count else { return final ? (buffer.count - index, [.ignored]) : nil }
            let finalByte = buffer[end]
            guard (0x40...0x7E).contains(finalByte) else { return (end - index, [.ignored]) }
            let parameters = String(decoding: buffer[(index + 2)..<end], as: UTF8.self)
            let length = end + 1 - index
            if finalByte == 0x7E, parameters == "200" {
                paste = []
                return (length, [])
            }
            return (length, [Self.csi(parameters, finalByte).map(DecodedInput.key) ?? .ignored])
        case 0x4F:  // SS3: one more byte
            guard index + 2 < buffer.count else { return final ? (2, [.ignored]) : nil }
            return (3, [Self.ss3(buffer[index + 2]).map(DecodedInput.key) ?? .ignored])
        case 0x5D, 0x50, 0x5F, 0x5E:  // OSC, DCS, APC, PM: a string up to BEL or ESC \
            var end = index + 2
            while end < buffer.count {
                if buffer[end] == 0x07 { return (end + 1 - index, [.ignored]) }
                if buffer[end] == 0x1B {
                    guard end + 1 < buffer.count else { break }
                    return (end + 2 - index, [.ignored])
                }
                end += 1
            }
            return final ? (buffer.count - index, [.ignored]) : nil
        case 0x1B:
            // Esc pressed twice quickly: the first is a key on its own.
            return (1, [.key(.escape)])
        default:
            // Esc then a key in the same burst (Alt+key, or fast typing): Esc, then the key as itself.
            return (1, [.key(.escape)])
        }
    }

    /// The key a CSI sequence stands for (modifiers such as `1;5` are ignored: Ctrl-→ is →).
    static func csi(_ parameters: String, _ final: UInt8) -> Key? {
        let first = parameters.split(separator: ";").first.map(String.init) ?? ""
        if let key = cursorKey(final) { return key }
        switch final {
        case 0x5A: return .backTab
        case 0x7E:
            switch first {
            case "1", "7": return .home
            case "4", "8": return .end
            case "3": return .delete
            case "11", "12", "13", "14", "15": return Int(first).map { .function($0 - 10) }
            case "17", "18", "19", "20", "21": return Int(first).map { .function($0 - 11) }
            case "23", "24": return Int(first).map { .function($0 - 12) }
            default: return nil
            }
        default: return nil
        }
    }

    /// The arrows, Home and End: the same final byte after CSI (`ESC [`) and SS3 (`ESC O`).
    static func cursorKey(_ final: UInt8) -> Key? {
        switch final {
        case 0x41: .up
        case 0x42: .down
        case 0x43: .right
        case 0x44: .left
        case 0x48: .home
        case 0x46: .end
        default: nil
        }
    }

    /// The key an SS3 sequence (`ESC O x`) stands for.
    static func ss3(_ byte: UInt8) -> Key? {
        if let key = cursorKey(byte) { return key }
        switch byte {
        case 0x4D: return .enter
        case 0x50, 0x51, 0x52, 0x53: return .function(Int(byte) - 0x4F)
        default: return nil
        }
    }

    /// `bytes` as text, each byte that is not part of valid UTF-8 dropped; and whether any was.
    static func utf8(_ bytes: [UInt8]) -> (String, Bool) {
        var text = String.UnicodeScalarView()
        var invalid = false
        var index = 0
        while index < bytes.count {
            if bytes[index] < 0x80 {
                text.append(Unicode.Scalar(bytes[index]))
                index += 1
                continue
            }
            guard let (length, inputs) = character(in: bytes, at: index, final: true) else { break }
            for input in inputs {
                switch input {
                case .key(.character(let character)): text.append(contentsOf: character.unicodeScalars)
                case .invalidText: invalid = true
                default: break
                }
            }
            index += length
        }
        return (String(text), invalid)
    }
}
