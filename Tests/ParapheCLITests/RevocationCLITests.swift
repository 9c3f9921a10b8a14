import Foundation
import Testing

/// Revocation and the CRL, judged by OpenSSL, in both deployment shapes.
@Suite(.serialized) struct RevocationCLITests {
    @Test(arguments: Deployment.allCases) func aRevokedCertificateIsOnTheCRLAndRefusedEverywhere(deployment: Deployment) throws {
        let scratch = try Scratch(deployment)
        let applicant = Applicant()
        let link = try applicant.approve(in: scratch)
        let reference = try firstReference(scratch)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        let activated = try paraphe(
            ["activate"] + scratch.workstation + ["--link", link, "--answers-file", answers, "--reference", reference, "--password-file", password])
        #expect(activated.status == 0, "\(activated.stderr)")
        let profile = scratch.dataDir + "/profiles/Jeanne_Tremblay.p12"
        let certificate = scratch.dataDir + "/profiles/Jeanne_Tremblay.pem"
        let ca = scratch.authorityDir + "/ca/ca-cert.pem"
        #expect(try paraphe(["profile", "verify", profile, "--password-file", password] + scratch.workstation).status == 0)

        let serial = try #require(try openssl(["x509", "-in", certificate, "-noout", "-serial"]).stdout.split(separator: "=").last)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let revoked = try scratch.authority(["revoke", serial, "--reason", "keyCompromise"])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        #expect(revoked.stdout.contains(serial))
        #expect(
            try scratch.authority(["revoke", serial, "--reason", "keyCompromise"]).stderr.contains("Nothing new"), "revoking twice changes nothing")

        // The CRL: where the embedded authority writes it, and what the service serves.
        let crl: String
        if let server = scratch.server {
            let der = scratch.url.appendingPathComponent("crl.der").path
            let fetched = try run(
                URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "--cacert", ca, "-o", der, "-w", "%{http_code} %{content_type}", server.url + "/crl"])
            #expect(fetched.stdout == "200 application/pkix-crl", "\(fetched.stdout)")
            crl = scratch.url.appendingPathComponent("crl.pem").path
            #expect(try openssl(["crl", "-inform", "DER", "-in", der, "-out", crl]).status == 0)
        } else {
            crl = scratch.authorityDir + "/ca/crl.pem"
        }
        let checked = try openssl(["crl", "-in", crl, "-CAfile", ca, "-noout", "-text"])
        #expect((checked.stdout + checked.stderr).contains("verify OK"), "\(checked.stdout)\(checked.stderr)")
        #expect(checked.stdout.contains("Serial Number: \(serial)") && checked.stdout.contains("Key Compromise"), "\(checked.stdout)")
        #expect(checked.stdout.contains("X509v3 CRL Number") && checked.stdout.contains("Next Update"))
        let verify = try openssl(["verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl, certificate])
        #expect(verify.status != 0 && (verify.stdout + verify.stderr).contains("certificate revoked"), "\(verify.stdout)\(verify.stderr)")

        // Paraphe says so too (77), and the application can no longer be used.
        let refused = try paraphe(["profile", "verify", profile, "--password-file", password] + scratch.workstation)
        #expect(refused.status == 77, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("was revoked") && refused.stderr.contains("keyCompromise"), "\(refused.stderr)")
        #expect(try scratch.authority(["show", link, "--json"]).stdout.contains("\"status\" : \"revoked\""))
    }
}
