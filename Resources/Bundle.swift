import Foundation

/// Where Paraphe's bundled resources (strings, mail templates, catalogs) live.
public enum ParapheResources {
    /// The resource bundle of this target.
    public static var bundle: Bundle { Bundle.module }

    /// The URL of a bundled file, e.g. `url("strings", "en.json")`.
    public static func url(_ folder: String, _ file: String) -> URL? {
        Bundle.module.resourceURL?.appendingPathComponent(folder).appendingPathComponent(file)
    }

    /// The bytes of a bundled file, or nil if it is missing.
    public static func data(_ folder: String, _ file: String) -> Data? {
        guard let url = url(folder, file) else { return nil }
        return try? Data(contentsOf: url)
    }
}
