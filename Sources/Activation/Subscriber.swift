import Foundation

/// The person activating, as the authority knows them.
public struct Subscriber: Equatable, Sendable, Codable {
    public var name: String
    public var email: String
    public var language: Language

    public init(name: String, email: String, language: Language) {
        self.name = name
        self.email = email
        self.language = language
    }

    /// A file-name-safe profile name from the full name: `Jeanne Tremblay` → `Jeanne_Tremblay`.
    public var profileName: String {
        let folded = name.decomposedStringWithCompatibilityMapping.unicodeScalars.filter {
            $0.properties.generalCategory != .nonspacingMark
        }
        var out = ""
        var lastWasSeparator = false
        for scalar in folded {
            if scalar.isASCII, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" {
                out.unicodeScalars.append(scalar)
                lastWasSeparator = false
            } else if !lastWasSeparator, !out.isEmpty {
                out.append("_")
                lastWasSeparator = true
            }
        }
        while out.hasSuffix("_") { out.removeLast() }
        return out.isEmpty ? "profile" : String(out.prefix(64))
    }
}
