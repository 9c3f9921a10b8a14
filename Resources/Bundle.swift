import Foundation

/// Paraphe's resources (strings, mail templates, the component catalog, the API's OpenAPI document), compiled into
/// the programs: an installed program reads no file beside it.
public enum ParapheResources {
    /// The bytes of a resource, e.g. `data("strings", "en.json")`, or nil if there is no such resource.
    public static func data(_ folder: String, _ file: String) -> Data? {
        let bytes: [UInt8]? =
            switch (folder, file) {
            case ("strings", "en.json"): PackageResources.en_json
            case ("strings", "fr.json"): PackageResources.fr_json
            case ("mail", "approval.en.txt"): PackageResources.approval_en_txt
            case ("mail", "approval.fr.txt"): PackageResources.approval_fr_txt
            case ("mail", "recovery.en.txt"): PackageResources.recovery_en_txt
            case ("mail", "recovery.fr.txt"): PackageResources.recovery_fr_txt
            case ("mail", "renewal.en.txt"): PackageResources.renewal_en_txt
            case ("mail", "renewal.fr.txt"): PackageResources.renewal_fr_txt
            case ("catalog", "components.json"): PackageResources.components_json
            case ("openapi", "openapi.yaml"): PackageResources.openapi_yaml
            default: nil
            }
        return bytes.map { Data($0) }
    }
}
