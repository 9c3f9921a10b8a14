import Foundation

/// Crockford base32: digits and letters without I, L, O, U; typeable and case-insensitive.
public enum Base32 {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    /// Encodes bytes, 5 bits a character, most significant first.
    public static func crockford(_ bytes: [UInt8]) -> String {
        var out = ""
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[Int((buffer >> UInt32(bits)) & 31)])
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return out
    }

    /// Whether `byte` is one of the alphabet's characters as written (upper case).
    static func isCanonical(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "I"), UInt8(ascii: "L"), UInt8(ascii: "O"), UInt8(ascii: "U"): false
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): true
        default: false
        }
    }

    /// The canonical character for a typed one (`o`→`0`, `i`/`l`→`1`), or nil if not in the alphabet.
    static func canonical(_ character: Character) -> Character? {
        // Only ASCII letters and digits can be Crockford characters ("ß".uppercased() is "SS").
        guard character.isASCII, let upper = character.uppercased().first else { return nil }
        switch upper {
        case "O": return "0"
        case "I", "L": return "1"
        default: return alphabet.contains(upper) ? upper : nil
        }
    }
}

/// The 9-digit reference number, shown `123-456-789`; the last digit is a Damm check digit,
/// so any single typo or swap of neighbours is caught before a lookup.
public struct ReferenceNumber: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The nine digits, no separators.
    public let digits: String

    /// Parses what a person typed or pasted: spaces and dashes anywhere are ignored.
    public init(parsing text: String) throws(ActivationError) {
        var digits = ""
        for scalar in text.unicodeScalars {
            if scalar == " " || scalar == "-" || scalar == "\t" || scalar == "\u{00A0}" || scalar == "\u{2010}"
                || scalar == "\u{2011}" || scalar == "\u{2013}" || scalar == "\n" || scalar == "\r"
            {
                continue
            }
            guard scalar.isASCII, ("0"..."9").contains(scalar) else {
                throw ActivationError(.referenceMalformed)
            }
            digits.unicodeScalars.append(scalar)
            if digits.count > 9 { throw ActivationError(.referenceMalformed) }
        }
        guard digits.count == 9 else { throw ActivationError(.referenceMalformed) }
        guard Damm.isValid(digits) else { throw ActivationError(.referenceCheckDigit) }
        self.digits = digits
    }

    /// A new random reference number with its check digit.
    public static func generate(using random: any RandomSource) -> ReferenceNumber {
        let bytes = random.bytes(8)
        var value: UInt64 = 0
        for byte in bytes { value = (value << 8) | UInt64(byte) }
        // First digit 1–9 so the number never looks truncated.
        let body = String(100_000_000 / 10 + value % 90_000_000).padding(toLength: 8, withPad: "0", startingAt: 0)
        let full = body + String(Damm.checkDigit(body))
        return ReferenceNumber(validated: full)
    }

    init(validated digits: String) { self.digits = digits }

    /// `123-456-789`.
    public var formatted: String {
        let chars = Array(digits)
        return String(chars[0..<3]) + "-" + String(chars[3..<6]) + "-" + String(chars[6..<9])
    }

    public var description: String { formatted }
}

/// The Damm algorithm: a check digit that catches all single-digit errors and adjacent transpositions.
public enum Damm {
    private static let table: [[Int]] = [
        [0, 3, 1, 7, 5, 9, 8, 6, 4, 2], [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
        [4, 2, 0, 6, 8, 7, 1, 3, 5, 9], [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
        [6, 1, 2, 3, 0, 4, 5, 9, 7, 8], [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
        [5, 8, 6, 9, 7, 2, 0, 1, 3, 4], [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
        [9, 4, 3, 8, 6, 1, 7, 2, 0, 5], [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
    ]

    private static func interim(_ digits: String) -> Int {
        var interim = 0
        for character in digits {
            guard let digit = character.wholeNumberValue, (0...9).contains(digit) else { return -1 }
            interim = table[interim][digit]
        }
        return interim
    }

    /// The digit to append to `digits`.
    public static func checkDigit(_ digits: String) -> Int { max(0, interim(digits)) }

    /// True when `digits` ends with a correct check digit.
    public static func isValid(_ digits: String) -> Bool { interim(digits) == 0 }
}

/// The application token carried by the activation link: 80 random bits.
///
/// Written in Crockford base32 in four groups (`7K2M-Q9XD-4HPA-VT3R`).
public struct ApplicationToken: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The 16 canonical characters, no dashes.
    public let value: String

    /// Where activation links point; the token follows the last `/`.
    public static let linkBase = "https://activation.paraphe.example/activate/"

    /// Parses a whole activation link or a bare token: any case, dashes, spaces,
    /// line breaks and angle brackets around it are ignored; `O`/`I`/`L` are read as `0`/`1`/`1`.
    public init(parsing text: String) throws(ActivationError) {
        // A token as stored and sent (16 canonical characters) is taken as is: the registry reads one a request.
        if text.utf8.count == 16, text.utf8.allSatisfy(Base32.isCanonical) {
            self.value = text
            return
        }
        guard text.utf8.count <= 2_048 else { throw ActivationError(.linkMalformed) }
        var candidate = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: "<>\"'"))))
        if let cut = candidate.firstIndex(where: { $0 == "?" || $0 == "#" }), candidate.contains("://") {
            // A link with a query: accept ?token=… as well as a path.
            if let range = candidate.range(of: "token=") {
                candidate = candidate[range.upperBound...].prefix(while: { $0 != "&" && $0 != "#" })
            } else {
                candidate = candidate[..<cut]
            }
        }
        while candidate.hasSuffix("/") { candidate = candidate.dropLast() }
        if let slash = candidate.lastIndex(of: "/") { candidate = candidate[candidate.index(after: slash)...] }
        var value = ""
        for character in candidate {
            if character == "-" || character.isWhitespace { continue }
            guard let canonical = Base32.canonical(character) else { throw ActivationError(.linkMalformed) }
            value.append(canonical)
            if value.count > 16 { throw ActivationError(.linkMalformed) }
        }
        guard value.count == 16 else { throw ActivationError(.linkMalformed) }
        self.value = value
    }

    /// A new random token.
    public static func generate(using random: any RandomSource) -> ApplicationToken {
        ApplicationToken(validated: Base32.crockford(random.bytes(10)))
    }

    init(validated value: String) { self.value = value }

    /// `7K2M-Q9XD-4HPA-VT3R`.
    public var formatted: String {
        let chars = Array(value)
        return stride(from: 0, to: chars.count, by: 4).map { String(chars[$0..<min($0 + 4, chars.count)]) }
            .joined(separator: "-")
    }

    /// The activation link that goes in the approval email.
    public var link: String { Self.linkBase + formatted }

    public var description: String { formatted }
}
