import SwiftASN1
import X509

/// What Paraphe puts in CMP's room for it: the kiosk names the application it went through the steps
/// for as the sender, `directoryName` with the X.520 `serialNumber` attribute (an identifier of the
/// entity) holding the application token, so that a mistyped reference number counts against that
/// application.
///
/// Any other CMP client is identified by its reference number (`senderKID`) alone.
public enum ParapheCMP {
    static let serialNumberAttribute: ASN1ObjectIdentifier = [2, 5, 4, 5]

    /// The sender GeneralName naming the application `token`.
    public static func sender(token: String) throws -> [UInt8] {
        let name = try DistinguishedName([
            RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: serialNumberAttribute, printableString: token))
        ])
        return try PKIHeader.directoryName(name)
    }

    /// The application token a request's sender names, if it names one this way.
    public static func token(in header: PKIHeader) -> String? {
        guard let name = PKIHeader.distinguishedName(of: header.sender) else { return nil }
        for rdn in name {
            for attribute in rdn where attribute.type == serialNumberAttribute {
                if let text = String(attribute.value), !text.isEmpty { return text }
            }
        }
        return nil
    }
}
