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
}
