import Foundation
import Testing

/// What each program carries: the authority's binary has no kiosk in it.
@Suite("What the programs link")
struct LinkageTests {
    /// `paraphe-authority` (shipped and testable) needs neither libpwquality nor ncurses, and holds no code of the
    /// keystore, the workstation, the password checks, the wizard or the terminal.
    @Test(arguments: ["paraphe-authority", "paraphe-authority-testable"])
    func theAuthorityLinksNoWorkstationCode(_ name: String) throws {
        let program = try parapheExecutable(name: name).path
        let needed = try run(URL(fileURLWithPath: "/usr/bin/readelf"), ["-d", program]).stdout
        #expect(needed.contains("(NEEDED)"), "readelf read the program")
        for library in ["libpwquality", "libncurses", "libtinfo"] {
            #expect(!needed.contains(library), "\(name) needs \(library)")
        }
        let symbols = try run(URL(fileURLWithPath: "/usr/bin/nm"), [program]).stdout
        #expect(symbols.contains("$s9Authority"), "nm read the program's Swift symbols")
        for module in ["Keystore", "Workstation", "PasswordQuality", "Wizard", "WizardRuntime", "Terminal"] {
            // Swift mangles a module's name as its length and its letters.
            #expect(!symbols.contains("$s\(module.count)\(module)"), "\(name) carries code of \(module)")
        }
    }

    /// `Sources/paraphe/paraphe.order` still names the program's functions.
    ///
    /// It is the function order of release links, kept because it saves ≈ 4 MiB of the kiosk's peak RSS. Of its
    /// functions from Paraphe's own modules, at least 75 % must be functions of this build: freshly generated it reads
    /// 84 % against a debug build (release-only specializations make the rest); after a day of refactoring, 69 %.
    /// Regenerate with `scripts/symbol-order`.
    @Test func theKiosksFunctionOrderIsNotStale() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sources = root.appendingPathComponent("Sources")
        let modules = try FileManager.default.contentsOfDirectory(atPath: sources.path).map { $0.replacingOccurrences(of: "-", with: "_") }
        let prefixes = modules.map { "$s\($0.utf8.count)\($0)" }
        let order = try String(contentsOf: sources.appendingPathComponent("paraphe/paraphe.order"), encoding: .utf8)
        let own = order.split(separator: "\n").map(String.init).filter { name in prefixes.contains { name.hasPrefix($0) } }
        #expect(own.count > 1_000, "the order file holds the kiosk's own functions")
        let program = try parapheExecutable(name: "paraphe").path
        let defined = Set(
            try run(URL(fileURLWithPath: "/usr/bin/nm"), ["--defined-only", program]).stdout.split(separator: "\n").compactMap {
                $0.split(separator: " ").last.map(String.init)
            })
        let present = own.filter { defined.contains($0) }.count
        let share = Double(present) / Double(max(own.count, 1))
        #expect(share >= 0.75, "\(present) of \(own.count) functions in paraphe.order remain: regenerate it with scripts/symbol-order")
    }
}
