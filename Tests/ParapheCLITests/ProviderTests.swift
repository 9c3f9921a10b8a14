import Foundation
import Testing

/// The keystore as a security provider (`libparaphe-pkcs11.so`), judged by applications nobody here wrote: OpenSC's
/// pkcs11-tool, NSS (modutil, certutil, poppler's pdfsig), p11-kit, GnuTLS's p11tool, OpenSSL's pkcs11 engine — and
/// a C host (Tests/PKCS11Host/host.c) that scans its own memory for the key, forks, and signs from 8 threads.
@Suite(.serialized) struct ProviderTests {
    /// An activated profile, installed for a home directory of its own (`HOME=…/home`).
    struct Installed {
        let scratch: Scratch
        let applicant = Applicant()
        let profile: String
        let passwordFile: String
        let home: String
        let module: String
        let certificate: String

        var environment: [String: String] { ["HOME": home, "XDG_CONFIG_HOME": "", "PARAPHE_TEST_PIN": applicant.password] }
        var database: String { home + "/.pki/nssdb" }
        var label: String { "Jeanne_Tremblay" }

        init(key: String = "rsa2048", install: Bool = true) throws {
            scratch = try Scratch()
            let link = try applicant.approve(in: scratch)
            let reference = try firstReference(scratch)
            let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
            passwordFile = try scratch.file("password", applicant.password)
            let activated = try paraphe(
                ["activate"] + scratch.workstation + [
                    "--link", link, "--answers-file", answers, "--reference", reference,
                    "--password-file", passwordFile, "--key", key,
                ])
            #expect(activated.status == 0, "\(activated.stderr)")
            profile = scratch.dataDir + "/profiles/Jeanne_Tremblay.p12"
            certificate = scratch.dataDir + "/profiles/Jeanne_Tremblay.pem"
            home = scratch.url.appendingPathComponent("home").path
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            module = try parapheExecutable().deletingLastPathComponent().appendingPathComponent("libparaphe-pkcs11.so").path
            if install {
                let result = try self.install()
                #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            }
        }

        func install() throws -> RunResult {
            try paraphe(["profile", "install", profile, "--password-file", passwordFile] + scratch.workstation, environment: environment)
        }

        func uninstall() throws -> RunResult {
            try paraphe(["profile", "uninstall", profile], environment: environment)
        }

        /// Runs a tool with this home (and the password in `PARAPHE_TEST_PIN`, for `--pin env:…`).
        func tool(_ name: String, _ arguments: [String]) throws -> RunResult {
            try run(URL(fileURLWithPath: "/usr/bin/" + name), arguments, environment: environment)
        }

        func pkcs11Tool(_ arguments: [String]) throws -> RunResult {
            try tool("pkcs11-tool", ["--module", module] + arguments)
        }

        func publicKey() throws -> String {
            let path = scratch.url.appendingPathComponent("public.pem").path
            let key = try openssl(["x509", "-in", certificate, "-pubkey", "-noout"])
            _ = FileManager.default.createFile(atPath: path, contents: Data(key.stdout.utf8))
            return path
        }

        /// Runs `arguments` as an unprivileged user when the tests run as root (p11-kit ignores root's own
        /// configuration), with everything it must read made readable.
        func unprivileged(_ arguments: [String]) throws -> RunResult {
            guard getuid() == 0 else { return try run(URL(fileURLWithPath: "/usr/bin/env"), ["HOME=" + home] + arguments, environment: environment) }
            // The checkout may sit where another user cannot reach it (root's home): the user's p11-kit file names a
            // copy of the module inside the scratch directory instead.
            let copy = scratch.url.appendingPathComponent("module/libparaphe-pkcs11.so").path
            if !FileManager.default.fileExists(atPath: copy) {
                try FileManager.default.createDirectory(atPath: (copy as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: module, toPath: copy)
                let file = home + "/.config/pkcs11/modules/paraphe.module"
                #expect(try String(contentsOfFile: file, encoding: .utf8).contains("module: /"))
                try "module: \(copy)\ncritical: no\n".write(toFile: file, atomically: true, encoding: .utf8)
            }
            _ = try run(URL(fileURLWithPath: "/bin/chmod"), ["-R", "a+rX", scratch.url.path])
            // A private TMPDIR (e.g. under /root) would stop the other user at its door: let it pass through (o+x) to reach
            // the scratch directory, nothing more.
            var ancestor = scratch.url.deletingLastPathComponent()
            while ancestor.path != "/" {
                if let mode = try? FileManager.default.attributesOfItem(atPath: ancestor.path)[.posixPermissions] as? Int, mode & 0o001 == 0 {
                    try FileManager.default.setAttributes([.posixPermissions: mode | 0o001], ofItemAtPath: ancestor.path)
                }
                ancestor = ancestor.deletingLastPathComponent()
            }
            _ = try run(URL(fileURLWithPath: "/bin/chmod"), ["a+r", profile])
            return try run(URL(fileURLWithPath: "/usr/sbin/runuser"), ["-u", "nobody", "--", "/usr/bin/env", "HOME=" + home] + arguments)
        }
    }

    // MARK: OpenSC's pkcs11-tool

    @Test func anRSAProfileListsItsTokenAndSignsThroughPKCS11Tool() throws {
        let installed = try Installed()
        let slots = try installed.pkcs11Tool(["-L"])
        #expect(slots.status == 0, "\(slots.stderr)")
        #expect(slots.stdout.contains("token label        : Jeanne_Tremblay"))
        #expect(slots.stdout.contains("login required"))
        #expect(slots.stdout.contains("readonly"))

        // Before the log-in: the certificate and the CA's, no private key.
        let objects = try installed.pkcs11Tool(["-O"])
        #expect(objects.stdout.contains("Certificate Object; type = X.509 cert"))
        #expect(objects.stdout.contains("subject:    DN: CN=Jeanne Tremblay"))
        #expect(objects.stdout.contains("label:      Paraphe Embedded Root CA"))
        #expect(!objects.stdout.contains("Private Key Object"))

        // After: the private key, sensitive, with the certificate's ID; it cannot be read.
        let loggedIn = try installed.pkcs11Tool(["--login", "--pin", "env:PARAPHE_TEST_PIN", "-O"])
        #expect(loggedIn.stdout.contains("Private Key Object; RSA"))
        #expect(loggedIn.stdout.contains("Access:     sensitive"))
        let ids = loggedIn.stdout.matches(of: /ID:\s+([0-9a-f]+)/).map { String($0.1) }
        #expect(ids.count >= 3 && ids[0] == ids[1] && ids[1] == ids[2], "certificate, public and private key share an ID")
        let exported = installed.scratch.url.appendingPathComponent("exported").path
        _ = try installed.pkcs11Tool([
            "--login", "--pin", "env:PARAPHE_TEST_PIN", "--read-object", "--type", "privkey", "--id", ids.first ?? "", "-o", exported,
        ])
        #expect((FileManager.default.contents(atPath: exported) ?? Data()).isEmpty, "the private key cannot be read")

        // Signatures, each verified by OpenSSL with the certificate's key.
        let data = try installed.scratch.file("data.txt", "Je soussignée, Jeanne Tremblay.\n")
        let publicKey = try installed.publicKey()
        let signature = installed.scratch.url.appendingPathComponent("signature").path
        let pkcs1 = try installed.pkcs11Tool([
            "--login", "--pin", "env:PARAPHE_TEST_PIN", "--sign", "-m", "SHA256-RSA-PKCS", "-i", data, "-o", signature,
        ])
        #expect(pkcs1.status == 0, "\(pkcs1.stderr)")
        #expect(try openssl(["dgst", "-sha256", "-verify", publicKey, "-signature", signature, data]).stdout.contains("Verified OK"))

        let pss = try installed.pkcs11Tool([
            "--login", "--pin", "env:PARAPHE_TEST_PIN", "--sign", "-m", "SHA256-RSA-PKCS-PSS", "--mgf", "MGF1-SHA256",
            "--salt-len", "32", "-i", data, "-o", signature,
        ])
        #expect(pss.status == 0, "\(pss.stderr)")
        let pssVerified = try openssl([
            "dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-verify", publicKey,
            "-signature", signature, data,
        ])
        #expect(pssVerified.stdout.contains("Verified OK"), "\(pssVerified.stderr)")

        // RSA-PKCS-PSS over a hash the caller made, and RSA-PKCS over a DigestInfo.
        let digest = try installed.scratch.file("digest", try openssl(["dgst", "-sha256", "-binary", data]).stdoutBytes)
        let rawPSS = try installed.pkcs11Tool([
            "--login", "--pin", "env:PARAPHE_TEST_PIN", "--sign", "-m", "RSA-PKCS-PSS", "--hash-algorithm", "SHA256",
            "--mgf", "MGF1-SHA256", "-i", digest, "-o", signature,
        ])
        #expect(rawPSS.status == 0, "\(rawPSS.stderr)")
        #expect(
            try openssl(["dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-verify", publicKey, "-signature", signature, data]).stdout
                .contains("Verified OK"))
        let digestInfo = try installed.scratch.file(
            "digestinfo",
            [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]
                + (try openssl(["dgst", "-sha256", "-binary", data]).stdoutBytes))
        let raw = try installed.pkcs11Tool([
            "--login", "--pin", "env:PARAPHE_TEST_PIN", "--sign", "-m", "RSA-PKCS", "-i", digestInfo, "-o", signature,
        ])
        #expect(raw.status == 0, "\(raw.stderr)")
        #expect(try openssl(["dgst", "-sha256", "-verify", publicKey, "-signature", signature, data]).stdout.contains("Verified OK"))

        // A wrong password is the standard's CKR_PIN_INCORRECT; a mechanism for another key type is refused, not a crash.
        let wrong = try run(
            URL(fileURLWithPath: "/usr/bin/pkcs11-tool"),
            [
                "--module", installed.module, "--login", "--pin", "env:WRONG", "--sign",
                "-m", "SHA256-RSA-PKCS", "-i", data, "-o", signature,
            ],
            environment: installed.environment.merging(["WRONG": "Not-The-Password-99"]) { $1 })
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("CKR_PIN_INCORRECT"))
        let ecdsa = try installed.pkcs11Tool([
            "--login", "--pin", "env:PARAPHE_TEST_PIN", "--sign", "-m", "ECDSA-SHA256", "-i", data, "-o", signature,
        ])
        #expect(ecdsa.status != 0)
        #expect(ecdsa.stderr.contains("CKR_KEY_TYPE_INCONSISTENT") || ecdsa.stderr.contains("CKR_MECHANISM_INVALID"), "\(ecdsa.stderr)")
    }

    @Test func aP256ProfileSignsWithECDSA() throws {
        let installed = try Installed(key: "p256")
        let data = try installed.scratch.file("data.txt", "Je soussignée, Jeanne Tremblay.\n")
        let publicKey = try installed.publicKey()
        let signature = installed.scratch.url.appendingPathComponent("signature").path
        let signed = try installed.pkcs11Tool([
            "--login", "--pin", "env:PARAPHE_TEST_PIN", "--sign", "-m", "ECDSA-SHA256", "--signature-format", "openssl",
            "-i", data, "-o", signature,
        ])
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(try openssl(["dgst", "-sha256", "-verify", publicKey, "-signature", signature, data]).stdout.contains("Verified OK"))
        // CKM_ECDSA over a hash the caller made.
        let digest = try installed.scratch.file("digest", try openssl(["dgst", "-sha256", "-binary", data]).stdoutBytes)
        let raw = try installed.pkcs11Tool([
            "--login", "--pin", "env:PARAPHE_TEST_PIN", "--sign", "-m", "ECDSA", "--signature-format", "openssl",
            "-i", digest, "-o", signature,
        ])
        #expect(raw.status == 0, "\(raw.stderr)")
        #expect(try openssl(["dgst", "-sha256", "-verify", publicKey, "-signature", signature, data]).stdout.contains("Verified OK"))
        let objects = try installed.pkcs11Tool(["--login", "--pin", "env:PARAPHE_TEST_PIN", "-O"])
        #expect(objects.stdout.contains("Private Key Object; EC"))
        #expect(objects.stdout.contains("ECDSA-SHA256"))
    }

    // MARK: The host's memory, fork, threads

    /// The C host, compiled once per test run.
    static func host(in scratch: Scratch) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("PKCS11Host/host.c").path
        let output = scratch.url.appendingPathComponent("pkcs11-host").path
        // A C compiler: the system's, or the clang every Swift toolchain ships.
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init)
        let compiler = try #require(
            ["cc", "gcc", "clang"].lazy.flatMap { name in path.map { $0 + "/" + name } }
                .first { FileManager.default.isExecutableFile(atPath: $0) }, "a C compiler on the PATH")
        let built = try run(URL(fileURLWithPath: compiler), ["-O2", "-o", output, source, "-ldl", "-lpthread", "-lcrypto"])
        #expect(built.status == 0, "\(built.stderr)")
        return output
    }

    /// The key's bytes as the needle file of the host: 16-byte pieces of the private numbers (big-endian, as in the
    /// PKCS#8 encoding, and reversed, as OpenSSL's little-endian BIGNUM words hold them), XORed with a random mask.
    static func needles(_ installed: Installed) throws -> String {
        let key = try openssl(["pkcs12", "-in", installed.profile, "-nocerts", "-nodes", "-passin", "file:\(installed.passwordFile)"])
        #expect(key.status == 0, "\(key.stderr)")
        let keyFile = try installed.scratch.file("key.pem", key.stdout)
        let text = try openssl(["pkey", "-in", keyFile, "-text", "-noout"]).stdout
        try FileManager.default.removeItem(atPath: keyFile)
        var numbers: [[UInt8]] = []
        for field in ["privateExponent", "prime1", "prime2", "priv"] {
            guard let start = text.range(of: field + ":\n") else { continue }
            var hex = ""
            for line in text[start.upperBound...].split(separator: "\n") {
                guard line.hasPrefix("    ") else { break }
                hex += line.filter { $0.isHexDigit }
            }
            var bytes = Self.bytes(hex: hex)
            while bytes.first == 0 { bytes.removeFirst() }
            numbers.append(bytes)
        }
        #expect(!numbers.isEmpty)
        let length = 16
        var pieces: [[UInt8]] = []
        for number in numbers where number.count >= length {
            let middle = number.count / 2 - length / 2
            pieces.append(Array(number[middle..<middle + length]))
            pieces.append(Array(number.reversed()[middle..<middle + length]))
        }
        let mask = (0..<length).map { _ in UInt8.random(in: 1...255) }
        var file: [UInt8] = [UInt8(length), UInt8(pieces.count)] + mask
        for piece in pieces { file += zip(piece, mask).map { $0 ^ $1 } }
        return try installed.scratch.file("needles", file)
    }

    @Test(arguments: ["rsa2048", "p256"]) func noKeyBytesRemainInTheHostAfterTheLogOutNorInAForkedChild(key: String) throws {
        let installed = try Installed(key: key)
        let host = try Self.host(in: installed.scratch)
        let needles = try Self.needles(installed)
        let scan = try run(
            URL(fileURLWithPath: host), ["scan", installed.module, installed.passwordFile, needles], environment: installed.environment)
        #expect(scan.status == 0, "\(scan.stderr)")
        let counts = Dictionary(
            uniqueKeysWithValues: scan.stdout.split(separator: "\n").compactMap { line -> (String, Int)? in
                let parts = line.split(separator: " ")
                return parts.count == 2 ? (String(parts[0]), Int(parts[1]) ?? -1) : nil
            })
        // While logged in, the scanner finds the key where the module keeps it (so it can find it at all)…
        #expect((counts["logged-in"] ?? 0) >= 1, "\(scan.stdout)\(scan.stderr)")
        // …and nowhere once the person logged out, closed the sessions or the host finalized the module.
        #expect(counts["logged-out"] == 0, "\(scan.stderr)")
        #expect(counts["sessions-closed"] == 0, "\(scan.stderr)")
        #expect(counts["finalized"] == 0, "\(scan.stderr)")

        let forked = try run(
            URL(fileURLWithPath: host), ["fork", installed.module, installed.passwordFile, needles], environment: installed.environment)
        #expect(forked.status == 0, "\(forked.stderr)")
        #expect(forked.stdout.contains("child 0"), "the forked child holds no key bytes: \(forked.stdout)\(forked.stderr)")
        #expect(forked.stdout.contains("child-exit 0"), "the child found the module uninitialized and initialized it again: \(forked.stderr)")
    }

    @Test func eightThreadsSignAtOnceThroughOneModule() throws {
        let installed = try Installed()
        let host = try Self.host(in: installed.scratch)
        let result = try run(
            URL(fileURLWithPath: host), ["threads", installed.module, installed.passwordFile, "8", "8"], environment: installed.environment)
        #expect(result.status == 0, "\(result.stderr)")
        let signatures = result.stdout.split(separator: "\n").filter { $0.hasPrefix("signature ") }.map { $0.dropFirst("signature ".count) }
        #expect(signatures.count == 64)
        // PKCS#1 v1.5 is deterministic: every thread's signature is the same, and it verifies.
        #expect(Set(signatures).count == 1)
        let signature = try installed.scratch.file("threads.sig", Self.bytes(hex: String(signatures.first ?? "")))
        let data = try installed.scratch.file("threads.txt", "signed from many threads at once")
        #expect(try openssl(["dgst", "-sha256", "-verify", try installed.publicKey(), "-signature", signature, data]).stdout.contains("Verified OK"))
    }

    // MARK: NSS and pdfsig

    @Test func afterProfileInstallPdfsigSignsThroughNSSAndTheSignatureIsTrusted() throws {
        let installed = try Installed()
        let modules = try installed.tool("modutil", ["-dbdir", "sql:" + installed.database, "-list"])
        #expect(modules.stdout.contains("Paraphe"))
        #expect(modules.stdout.contains(installed.module) || modules.stdout.contains("libparaphe-pkcs11.so"))
        let certificates = try installed.tool("certutil", ["-L", "-d", "sql:" + installed.database, "-h", "all"])
        #expect(certificates.stdout.contains("Jeanne_Tremblay:Jeanne Tremblay"), "\(certificates.stdout)\(certificates.stderr)")
        // The authority's CA: trusted for email and object signing, never for TLS.
        let authority = certificates.stdout.split(separator: "\n").first { $0.hasPrefix("Paraphe Embedded Root CA (Paraphe)") }
        #expect(authority.map { $0.hasSuffix(",C,C") || $0.hasSuffix(",C,C ") } == true, "\(certificates.stdout)")

        // A one-page PDF (the benchmark signs the same one).
        let pdf = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("PKCS11Host/application.pdf").path
        let signed = installed.scratch.url.appendingPathComponent("signed.pdf").path
        let sign = try installed.tool(
            "pdfsig",
            [
                "-add-signature", "-nssdir", "sql:" + installed.database, "-nick", "Jeanne_Tremblay:Jeanne Tremblay",
                "-nss-pwd", installed.applicant.password, pdf, signed,
            ])
        #expect(sign.status == 0, "\(sign.stdout)\(sign.stderr)")
        let verified = try installed.tool("pdfsig", ["-nssdir", "sql:" + installed.database, signed])
        #expect(verified.stdout.contains("Signer Certificate Common Name: Jeanne Tremblay"), "\(verified.stdout)")
        #expect(verified.stdout.contains("Signature is Valid."))
        #expect(verified.stdout.contains("Certificate is Trusted."))
    }

    // MARK: p11-kit, GnuTLS, OpenSSL

    @Test func p11KitAndGnuTLSSeeTheTokenAndOpenSSLSignsThroughTheEngine() throws {
        let installed = try Installed()
        let listed = try installed.unprivileged(["p11-kit", "list-modules"])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("paraphe: "), "\(listed.stdout)")
        #expect(listed.stdout.contains("token: Jeanne_Tremblay"))
        let gnutls = try installed.unprivileged(["p11tool", "--list-all", "pkcs11:token=Jeanne_Tremblay"])
        #expect(gnutls.stdout.contains("Label: Jeanne Tremblay"), "\(gnutls.stdout)\(gnutls.stderr)")
        #expect(gnutls.stdout.contains("X.509 Certificate"))

        // OpenSSL: the pkcs11 engine (libp11, through p11-kit-proxy) with an RFC 7512 URI; the password from a file.
        let pin = try installed.scratch.file("pin", installed.applicant.password)
        let data = try installed.scratch.file("data.txt", "Je soussignée, Jeanne Tremblay.\n")
        let signed = try installed.unprivileged([
            "openssl", "dgst", "-sha256", "-engine", "pkcs11", "-keyform", "engine", "-sign",
            "pkcs11:token=Jeanne_Tremblay;type=private?pin-source=file:\(pin)", data,
        ])
        #expect(signed.status == 0, "\(signed.stderr)")
        let signature = try installed.scratch.file("engine.sig", signed.stdoutBytes)
        #expect(try openssl(["dgst", "-sha256", "-verify", try installed.publicKey(), "-signature", signature, data]).stdout.contains("Verified OK"))
    }

    // MARK: Registration

    @Test func aDatabaseAnApplicationHasOpenIsLeftAloneUntilItIsClosed() throws {
        let installed = try Installed(install: false)
        // An application (here a shell) with the shared database open, as a running Chromium or Evolution has it.
        let database = installed.database
        try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: true)
        let created = try installed.tool("certutil", ["-N", "-d", "sql:" + database, "--empty-password"])
        #expect(created.status == 0, "\(created.stderr)")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", "exec 3<\"$0\"; exec sleep 60", database + "/cert9.db"]
        try holder.run()
        defer { kill(holder.processIdentifier, SIGKILL) }
        var waited = 0
        while waited < 100, (try? String(contentsOfFile: "/proc/\(holder.processIdentifier)/comm", encoding: .utf8))?.hasPrefix("sleep") != true {
            Thread.sleep(forTimeInterval: 0.05)
            waited += 1
        }
        let refused = try installed.install()
        #expect(refused.status == 75, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("Close sleep"), "\(refused.stderr)")
        #expect(!(try installed.tool("modutil", ["-dbdir", "sql:" + database, "-list"])).stdout.contains("Paraphe"))

        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let again = try installed.install()
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try installed.tool("modutil", ["-dbdir", "sql:" + database, "-list"]).stdout.contains("Paraphe"))
    }

    @Test func uninstallLeavesNoTrace() throws {
        let installed = try Installed(install: false)
        // A Firefox profile already there (with its own database), and the shared one not yet.
        let firefox = installed.home + "/.mozilla/firefox/abcd1234.default-release"
        try FileManager.default.createDirectory(atPath: firefox, withIntermediateDirectories: true)
        #expect(try installed.tool("certutil", ["-N", "-d", "sql:" + firefox, "--empty-password"]).status == 0)
        let before = try Self.tree(installed.home)
        let firefoxModules = try installed.tool("modutil", ["-dbdir", "sql:" + firefox, "-list"]).stdout
        let firefoxCertificates = try installed.tool("certutil", ["-L", "-d", "sql:" + firefox]).stdout

        let result = try installed.install()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(firefox))
        #expect(try installed.tool("modutil", ["-dbdir", "sql:" + firefox, "-list"]).stdout.contains("Paraphe"))
        #expect(FileManager.default.fileExists(atPath: installed.home + "/.config/pkcs11/modules/paraphe.module"))

        let removed = try installed.uninstall()
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try installed.tool("modutil", ["-dbdir", "sql:" + firefox, "-list"]).stdout == firefoxModules)
        #expect(try installed.tool("certutil", ["-L", "-d", "sql:" + firefox]).stdout == firefoxCertificates)
        // The same files as before (a database's own bytes change as SQLite writes it; its contents were compared above).
        #expect(try Self.tree(installed.home) == before)
        let again = try installed.uninstall()
        #expect(again.status == 0)
        #expect(again.stdout.contains("nothing to undo"))
    }

    @Test func activateWithInstallMakesTheNewProfileAvailable() throws {
        let scratch = try Scratch()
        let applicant = Applicant()
        let home = scratch.url.appendingPathComponent("home").path
        let link = try applicant.approve(in: scratch)
        let answers = try scratch.file("answers", applicant.answers.joined(separator: "\n"))
        let password = try scratch.file("password", applicant.password)
        let result = try paraphe(
            ["activate"] + scratch.workstation + [
                "--link", link, "--answers-file", answers, "--reference", try firstReference(scratch),
                "--password-file", password, "--install",
            ], environment: ["HOME": home])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Your digital signature is available to the applications of this workstation, as \"Jeanne_Tremblay\"."))
        #expect(
            result.stdout.contains("pdfsig -add-signature -nssdir sql:\(home)/.pki/nssdb -nick \"Jeanne_Tremblay:Jeanne Tremblay\" -nss-pwd PASSWORD")
        )
        #expect(FileManager.default.fileExists(atPath: home + "/.config/paraphe/tokens/Jeanne_Tremblay.token"))
        // Without --install, nothing is registered.
        let other = try Installed(install: false)
        #expect(!FileManager.default.fileExists(atPath: other.home + "/.config"))
        #expect(!FileManager.default.fileExists(atPath: other.home + "/.pki"))
    }

    @Test func stepThreeChecksTheModuleAndReportsWhetherItIsRegistered() throws {
        let installed = try Installed(install: false)
        let before = try paraphe(["components"] + installed.scratch.workstation, environment: installed.environment)
        #expect(before.status == 0, "\(before.stdout)\(before.stderr)")
        #expect(before.stdout.contains("Keystore provider: Installed"), "\(before.stdout)")
        #expect(before.stdout.contains("PKCS#11 module, not registered yet"), "\(before.stdout)")
        #expect(try installed.install().status == 0)
        let after = try paraphe(["components"] + installed.scratch.workstation, environment: installed.environment)
        #expect(after.stdout.contains("PKCS#11 module, registered for 1 profile(s)"), "\(after.stdout)")
        // The self-test's throwaway token never shows among the person's.
        #expect(try installed.pkcs11Tool(["-L"]).stdout.components(separatedBy: "token label").count == 2)
    }

    @Test func aRenewedProfileSignsWithItsNewCertificate() throws {
        let installed = try Installed()
        let before = try String(contentsOfFile: installed.certificate, encoding: .utf8)
        let updated = try paraphe(
            ["profile", "update", installed.profile, "--password-file", installed.passwordFile] + installed.scratch.workstation,
            environment: installed.environment)
        #expect(updated.status == 0, "\(updated.stderr)")
        #expect(try String(contentsOfFile: installed.certificate, encoding: .utf8) != before)
        // The token shows the new certificate, and the new key signs for it.
        let serial =
            try openssl(["x509", "-in", installed.certificate, "-noout", "-serial"]).stdout.split(separator: "=").last.map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines)
            } ?? ""
        #expect(try installed.pkcs11Tool(["-O"]).stdout.contains("serial:     \(serial)"))
        let data = try installed.scratch.file("data.txt", "renewed\n")
        let signature = installed.scratch.url.appendingPathComponent("signature").path
        let signed = try installed.pkcs11Tool([
            "--login", "--pin", "env:PARAPHE_TEST_PIN", "--sign", "-m", "SHA256-RSA-PKCS", "-i", data, "-o", signature,
        ])
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(try openssl(["dgst", "-sha256", "-verify", try installed.publicKey(), "-signature", signature, data]).stdout.contains("Verified OK"))
    }

    @Test func twoProfilesAreTwoTokensAndTheLastUninstallRemovesTheRest() throws {
        let installed = try Installed()
        // A second person's profile on the same workstation, installed for the same home.
        var second = Applicant()
        second.name = "Marc Gagnon"
        second.email = "marc.gagnon@example.com"
        let link = try second.approve(in: installed.scratch)
        let mails = try installed.scratch.mails()
        let reference = try #require(mails.filter { $0.contains(second.email) }.compactMap { line(after: "Reference number:", in: $0) }.first)
        let answers = try installed.scratch.file("answers-2", second.answers.joined(separator: "\n"))
        let password = try installed.scratch.file("password-2", second.password)
        let activated = try paraphe(
            ["activate"] + installed.scratch.workstation + [
                "--link", link, "--answers-file", answers, "--reference", reference,
                "--password-file", password, "--install",
            ], environment: installed.environment)
        #expect(activated.status == 0, "\(activated.stderr)")
        let slots = try installed.pkcs11Tool(["-L"]).stdout
        #expect(slots.contains("token label        : Jeanne_Tremblay") && slots.contains("token label        : Marc_Gagnon"), "\(slots)")

        // The first one leaves: its token goes, the module and the CA stay for the other.
        #expect(try installed.uninstall().status == 0)
        #expect(!(try installed.pkcs11Tool(["-L"]).stdout.contains("Jeanne_Tremblay")))
        #expect(try installed.tool("modutil", ["-dbdir", "sql:" + installed.database, "-list"]).stdout.contains("Paraphe"))
        #expect(try installed.tool("certutil", ["-L", "-d", "sql:" + installed.database]).stdout.contains("Paraphe Embedded Root CA (Paraphe)"))
        // A profile of the same name in another folder is a token of its own.
        var namesake = Applicant()
        namesake.email = "jeanne.t@example.org"
        let namesakeLink = try namesake.approve(in: installed.scratch)
        let namesakeReference = try #require(
            try installed.scratch.mails().filter { $0.contains(namesake.email) }
                .compactMap { line(after: "Reference number:", in: $0) }.first)
        let elsewhere = installed.scratch.url.appendingPathComponent("elsewhere").path
        let third = try paraphe(
            ["activate"] + installed.scratch.workstation + [
                "--link", namesakeLink, "--answers-file",
                try installed.scratch.file(
                    "answers-3", namesake.answers.joined(separator: "\n")), "--reference", namesakeReference, "--password-file", password,
                "--profile-dir", elsewhere,
                "--install",
            ], environment: installed.environment)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(third.stdout.contains("as \"Jeanne_Tremblay\"."), "the first Jeanne left: the name is free again")
        let reinstalled = try installed.install()
        #expect(reinstalled.stdout.contains("as \"Jeanne_Tremblay-2\"."), "\(reinstalled.stdout)")
        let tokens = try installed.pkcs11Tool(["-L"]).stdout
        #expect(tokens.contains("token label        : Jeanne_Tremblay-2") && tokens.contains("token label        : Jeanne_Tremblay\n"), "\(tokens)")
        #expect(try installed.uninstall().status == 0)
        #expect(try paraphe(["profile", "uninstall", elsewhere + "/Jeanne_Tremblay.p12"], environment: installed.environment).status == 0)

        // The last one leaves: nothing of Paraphe remains in the home.
        let last = try paraphe(["profile", "uninstall", installed.scratch.dataDir + "/profiles/Marc_Gagnon.p12"], environment: installed.environment)
        #expect(last.status == 0, "\(last.stderr)")
        let left = try Self.tree(installed.home)
        #expect(left.isEmpty, "\(left)")
    }

    @Test func theModuleExportsOneSymbolAndCarriesNoFoundation() throws {
        let module = try parapheExecutable().deletingLastPathComponent().appendingPathComponent("libparaphe-pkcs11.so").path
        let exported = try run(URL(fileURLWithPath: "/usr/bin/nm"), ["-D", "--defined-only", module]).stdout.split(separator: "\n")
        #expect(exported.count == 1 && exported.first?.hasSuffix(" T C_GetFunctionList") == true, "\(exported)")
        // Foundation (with CoreFoundation and ICU) would cost every host some megabytes: the keystore code the module
        // links uses FoundationEssentials only.
        let symbols = try run(URL(fileURLWithPath: "/usr/bin/nm"), [module]).stdout
        #expect(!symbols.contains("CFArrayGetCount") && !symbols.contains("$s10Foundation"), "the module links Foundation")
    }

    /// The bytes hex digits spell, two a byte.
    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex)
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(digits[$0...$0 + 1]), radix: 16) }
    }

    /// The files under `directory` (paths relative to it).
    static func tree(_ directory: String) throws -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: directory)
        var paths: [String] = []
        while let path = enumerator?.nextObject() as? String { paths.append(path) }
        return paths.sorted()
    }
}
