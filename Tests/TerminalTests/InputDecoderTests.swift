import ScreenModel
import Testing

@testable import Terminal

/// The keyboard decoder (issue 10.2, 10.3, 10.9): bytes as terminals send them, byte-exact.
@Suite struct InputDecoderTests {
    func decode(_ bytes: [UInt8], flush: Bool = true) -> [DecodedInput] {
        var decoder = InputDecoder()
        var out = decoder.feed(bytes)
        if flush { out += decoder.flush() }
        return out
    }

    func text(_ string: String) -> [DecodedInput] { string.map { .key(.character($0)) } }

    /// `send-keys -H 41 ff 42 43 44`: only the bad byte goes, and it is reported.
    @Test func aByteThatIsNotUTF8IsDroppedAloneAndReported() {
        #expect(decode([0x41, 0xFF, 0x42, 0x43, 0x44]) == text("A") + [.invalidText] + text("BCD"))
    }

    /// Latin-1 `Montréal` (é is 0xE9): the é goes, "al" stays.
    @Test func latin1TextKeepsEverythingButTheBadByte() {
        let latin1: [UInt8] = [0x4D, 0x6F, 0x6E, 0x74, 0x72, 0xE9, 0x61, 0x6C]
        #expect(decode(latin1) == text("Montr") + [.invalidText] + text("al"))
        #expect(decode(Array("Montréal 王".utf8)) == text("Montréal 王"))
    }

    @Test func overlongSurrogatesAndCutCharactersAreInvalid() {
        #expect(decode([0xC0, 0xAF, 0x41]) == [.invalidText, .invalidText] + text("A"))  // over-long "/"
        #expect(decode([0xED, 0xA0, 0x80]) == [.invalidText, .invalidText, .invalidText])  // a surrogate
        #expect(decode([0xC3], flush: false).isEmpty, "the rest of the character may still come")
        #expect(decode([0xC3]) == [.invalidText])
        var decoder = InputDecoder()
        #expect(decoder.feed([0xC3]).isEmpty)
        #expect(decoder.feed([0xA9]) == [.key(.character("é"))])
        #expect(decode([0xC2, 0x9B, 0x41]) == [.ignored] + text("A"), "a C1 control never acts")
    }

    /// Home/End as xterm-like terminals send them in either mode, and the other keys.
    @Test func homeEndArrowsAndFunctionKeysInEveryForm() {
        for bytes in ["\u{1B}[1~", "\u{1B}[7~", "\u{1B}[H", "\u{1B}OH", "\u{1B}[1;5H"] {
            #expect(decode(Array(bytes.utf8)) == [.key(.home)], "\(bytes.debugDescription)")
        }
        for bytes in ["\u{1B}[4~", "\u{1B}[8~", "\u{1B}[F", "\u{1B}OF"] {
            #expect(decode(Array(bytes.utf8)) == [.key(.end)], "\(bytes.debugDescription)")
        }
        #expect(
            decode(Array("\u{1B}[A\u{1B}OB\u{1B}[C\u{1B}OD\u{1B}[Z\u{1B}[3~".utf8))
                == [.key(.up), .key(.down), .key(.right), .key(.left), .key(.backTab), .key(.delete)])
        #expect(
            decode(Array("\u{1B}OP\u{1B}OQ\u{1B}[15~\u{1B}[21~\u{1B}[24~".utf8))
                == [.key(.function(1)), .key(.function(2)), .key(.function(5)), .key(.function(10)), .key(.function(12))])
        #expect(decode(Array("\u{1B}[99~\u{1B}]0;title\u{07}x".utf8)) == [.ignored, .ignored] + text("x"))
    }

    @Test func aLoneEscIsEscOnlyOnceNothingFollows() {
        var decoder = InputDecoder()
        #expect(decoder.feed([0x1B]).isEmpty && decoder.needsFlush)
        #expect(decoder.flush() == [.key(.escape)])
        #expect(decode([0x1B, 0x1B]) == [.key(.escape), .key(.escape)])
        #expect(decode([0x0D, 0x09, 0x7F, 0x0C, 0x00]) == [.key(.enter), .key(.tab), .key(.backspace), .key(.control("l")), .ignored])
    }

    /// A paste's line breaks are text, not Enter, even when the paste arrives in pieces.
    @Test func bracketedPasteIsTextWithItsLineBreaks() {
        let paste = Array("\u{1B}[200~https://activation.example/7K2M-Q9XD\n-4HPA-VT3R\u{1B}[201~".utf8)
        #expect(decode(paste) == [.paste("https://activation.example/7K2M-Q9XD\n-4HPA-VT3R")])
        var decoder = InputDecoder()
        var out: [DecodedInput] = []
        for byte in Array("x\u{1B}[200~Mont\r\nréal\u{1B}[201~\r".utf8) { out += decoder.feed([byte]) }
        #expect(out == text("x") + [.paste("Mont\r\nréal"), .key(.enter)])
        var bad = Array("\u{1B}[200~A".utf8)
        bad.append(0xFF)
        bad += Array("B\u{1B}[201~".utf8)
        #expect(decode(bad) == [.invalidText, .paste("AB")])
    }
}
