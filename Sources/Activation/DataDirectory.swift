import Foundation

/// Where a data directory is when no command line names one: the same rule for the authority's commands and the
/// workstation's.
public enum DataDirectory {
    /// The data directory: `explicit` (from `--data-dir`), else `PARAPHE_HOME`, else
    /// `$XDG_DATA_HOME/paraphe`, else `~/.local/share/paraphe`.
    public static func resolve(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let explicit, !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        if let home = environment["PARAPHE_HOME"], !home.isEmpty { return URL(fileURLWithPath: home) }
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("paraphe")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/share/paraphe")
    }
}
