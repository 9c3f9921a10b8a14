// swift-tools-version:6.0
import PackageDescription

/// How the programs are linked on Linux, debug and release alike: lld, relative relocations packed, no symbols
/// exported.
///
/// Less of a kiosk's memory resident, the same code (still position-independent); the figures are in
/// docs/benchmarks.md (peak RSS).
let programLinking: [LinkerSetting] = [
    .unsafeFlags(
        ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"], .when(platforms: [.linux]))
]

/// Release: the kiosk's functions laid out in the order a session first runs them (Sources/paraphe/paraphe.order,
/// from scripts/symbol-order), so fewer code pages stay resident.
///
/// A name the program no longer has is skipped (docs/benchmarks.md, peak RSS).
let kioskLinking: [LinkerSetting] =
    programLinking + [
        .unsafeFlags(
            [
                "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/paraphe/paraphe.order", "-Xlinker",
                "--no-warn-symbol-ordering",
            ],
            .when(platforms: [.linux], configuration: .release))
    ]

let package = Package(
    name: "Paraphe",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "paraphe", targets: ["paraphe"]),
        .executable(name: "paraphe-authority", targets: ["paraphe-authority"]),
        // For fuzz/ only (a package of its own, built instrumented by scripts/fuzz): every parser fed from outside.
        .library(name: "ParapheFuzzEntries", targets: ["ParapheFuzzEntries"]),
        // The security provider: libparaphe-pkcs11.so, the PKCS#11 module over the installed profiles.
        .library(name: "paraphe-pkcs11", type: .dynamic, targets: ["ParapheProvider"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
    ],
    targets: [
        // Strings (en, fr), mail templates, question catalog, component manifest.
        .target(
            name: "ParapheResources",
            path: "Resources",
            sources: ["Bundle.swift"],
            // In the programs themselves, so an installed program needs no bundle directory beside it.
            resources: [
                .embedInCode("strings/en.json"), .embedInCode("strings/fr.json"), .embedInCode("mail/approval.en.txt"),
                .embedInCode("mail/approval.fr.txt"), .embedInCode("mail/recovery.en.txt"), .embedInCode("mail/recovery.fr.txt"),
                .embedInCode("mail/renewal.en.txt"), .embedInCode("mail/renewal.fr.txt"), .embedInCode("catalog/components.json"),
                .embedInCode("openapi/openapi.yaml"),
            ]
        ),
        // The domain: pure value types and rules. No I/O, no curses.
        // Dates in UTC by arithmetic (no ICU-backed formatter or calendar).
        .target(name: "CivilTime"),
        // H^n(x), the iterated hash behind CMP's password-based MAC.
        .target(name: "HashChain", dependencies: ["COpenSSLCrypto"]),
        // The key types and the shape of errors: what the keystore (and so the security provider, loaded into any
        // process) shares with the domain, without Foundation.
        .target(name: "ParapheCore"),
        // Small helpers both sides need (hex, constant-time comparison, DER of a value, crash-safe file writes), with
        // no side's own code; FoundationEssentials only, as the keystore (and so the provider) links it.
        .target(name: "ParapheShared", dependencies: ["ParapheCore", .product(name: "SwiftASN1", package: "swift-asn1")]),
        .target(name: "Activation", dependencies: ["ParapheCore", "ParapheResources", "CivilTime"]),
        // The Authority protocol and the data a workstation exchanges with it. No GRDB, no X509, no NIO.
        .target(name: "AuthorityInterface", dependencies: ["Activation"]),
        // The JSON bodies of the subscriber API and its error codes, HTTP statuses included: what the service and the
        // workstation's client (and the CMP responder's errorDetails) exchange. Not the wizard's.
        .target(name: "AuthorityWire", dependencies: ["Activation", "AuthorityInterface"]),
        // libpwquality, one of the system C libraries (ncurses, SQLite, libcrypto for App. B are the others).
        .systemLibrary(name: "CPWQuality", providers: [.apt(["libpwquality-dev"])]),
        // OpenSSL's libcrypto for RFC 7292 Appendix B (the PKCS#12 MAC key), which swift-crypto does not offer.
        .systemLibrary(name: "COpenSSLCrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "PasswordQuality", dependencies: ["CPWQuality", "Activation"]),
        // PKCS#11 2.40's header as p11-kit ships it (libp11-kit-dev): the provider's C interface. Nothing links p11-kit.
        .systemLibrary(name: "CPKCS11", providers: [.apt(["libp11-kit-dev"])]),
        // RSA signatures over a key rebuilt from locked memory for each signature, blinded with a blinding kept for the
        // log-in (OpenSSL's legacy RSA functions, which C may call without deprecation warnings).
        .target(name: "CBlindedRSA", linkerSettings: [.linkedLibrary("crypto")]),
        // The local Entrust-like keystore: keys, CSR, PKCS#12, certificate file, login.
        .target(
            name: "Keystore",
            dependencies: [
                "ParapheShared",
                "ParapheCore", "COpenSSLCrypto", "CBlindedRSA",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        // The security provider: a PKCS#11 module over the Keystore, loaded by any process (NSS, GnuTLS, OpenSSL,
        // p11-kit). The Swift runtime is linked in (-static-stdlib) and only C_GetFunctionList is exported (a version
        // script), so it loads into hosts with or without Swift; no threads, no Swift concurrency inside.
        .target(
            name: "ParapheProvider",
            dependencies: [
                "ParapheShared",
                "CPKCS11", "Keystore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            exclude: ["exports.map", "provider.order"],
            linkerSettings: [
                // Release: the functions a host runs laid out together (Sources/ParapheProvider/provider.order, written
                // by `scripts/symbol-order --provider`), as for the kiosk's program: fewer code pages resident in the host.
                .unsafeFlags(
                    [
                        "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/ParapheProvider/provider.order", "-Xlinker",
                        "--no-warn-symbol-ordering",
                    ], .when(platforms: [.linux], configuration: .release)),
                .unsafeFlags(
                    [
                        "-static-stdlib", "-use-ld=lld", "-lFoundationEssentials", "-l_FoundationCollections", "-l_FoundationCShims",
                        "-lswiftSynchronization", "-lswiftDispatch", "-Xlinker",
                        "--version-script=\(Context.packageDirectory)/Sources/ParapheProvider/exports.map",
                        "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--gc-sections",
                    ], .when(platforms: [.linux])),
            ]
        ),
        // CMP (RFC 9810, RFC 9483 lightweight profile, RFC 6712 over HTTP) on swift-asn1: the messages both the
        // authority service and the workstation's client speak, password-based MAC protection, CRMF.
        .target(
            name: "CMP",
            dependencies: [
                "ParapheShared",
                "CivilTime", "HashChain",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        // X.509 v2 CRLs: the authority signs them, workstations check a certificate against them.
        .target(
            name: "RevocationList",
            dependencies: [
                "CivilTime",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        // The issuer side behind a protocol: registry, CA, Maildir mailer, audit log.
        .target(
            name: "Authority",
            dependencies: [
                "ParapheShared",
                "Activation", "AuthorityInterface", "AuthorityWire", "ParapheResources", "RevocationList", "CMP", "CivilTime",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The workstation side: components checks and installs, the activation pipeline.
        .target(
            name: "Workstation",
            dependencies: [
                "ParapheShared",
                "Activation", "AuthorityInterface", "AuthorityWire", "Keystore", "PasswordQuality", "RevocationList", "CMP", "CivilTime", "CPKCS11",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The screens: a headless state machine, a renderer into a cell grid, and the curses adapter.
        .target(name: "ScreenModel"),
        .target(name: "Wizard", dependencies: ["Activation", "AuthorityInterface", "ScreenModel"]),
        .target(name: "WizardRendering", dependencies: ["Wizard", "Activation", "ScreenModel"]),
        .systemLibrary(name: "CNcursesw", providers: [.apt(["libncurses-dev"])]),
        .target(name: "Terminal", dependencies: ["CNcursesw", "ParapheShared", "ScreenModel"]),
        // The one program loop both front ends run (event queue, effect runner), without a terminal.
        .target(
            name: "WizardRuntime",
            dependencies: ["Activation", "AuthorityInterface", "Keystore", "ParapheShared", "Workstation", "Wizard"]
        ),
        // What both programs' commands share (options, errors, hooks) and the operator commands that
        // `paraphe authority …` and `paraphe-authority …` both run. No curses, no server.
        .target(
            name: "OperatorCommands",
            dependencies: [
                "Activation", "AuthorityInterface", "Authority", "RevocationList", "CivilTime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        // The authority as an HTTPS service: the subscriber API (/api/v1/), CMP enrollment (/pkix/),
        // the CA certificate; Hummingbird 2 over swift-nio-ssl. No curses.
        .target(
            name: "AuthorityServer",
            dependencies: [
                "Activation", "AuthorityInterface", "AuthorityWire", "Authority", "CMP", "ParapheResources",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // `paraphe-authority`: `serve` and the operator commands shared with `paraphe authority`.
        .target(
            name: "AuthorityServerCLI",
            dependencies: [
                "Activation", "Authority", "AuthorityInterface", "AuthorityServer", "AuthorityPostgres", "OperatorCommands",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "paraphe-authority", dependencies: ["AuthorityServerCLI"], linkerSettings: programLinking),
        // The registry of a fleet: several `paraphe-authority` instances on one PostgreSQL database.
        .target(
            name: "AuthorityPostgres",
            dependencies: [
                "Activation", "AuthorityInterface", "Authority", "RevocationList",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // ConnectionPoolError: the pool's own "the database has been unreachable for a minute".
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The workstation's side of a networked authority: the JSON API and CMP over HTTPS with the CA
        // pinned (AsyncHTTPClient), behind the same Authority protocol as the embedded one.
        .target(
            name: "AuthorityClient",
            dependencies: [
                "ParapheShared",
                "Activation", "AuthorityInterface", "AuthorityWire", "CMP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The commands (parsing and composition); `paraphe` is its entry point.
        .target(
            name: "ParapheCLI",
            dependencies: [
                "ParapheShared",
                "Activation", "AuthorityInterface", "Authority", "Keystore", "Workstation", "PasswordQuality",
                "ScreenModel", "Wizard", "WizardRendering", "WizardRuntime", "Terminal", "OperatorCommands", "AuthorityClient", "RevocationList",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "paraphe", dependencies: ["ParapheCLI"], exclude: ["paraphe.order"], linkerSettings: kioskLinking),
        // Test support: seeded randomness, a manual clock, and `paraphe-testable` (the same commands with
        // the clock and crash points injected from the environment, for the end-to-end tests only).
        .target(
            name: "ParapheTestSupport", dependencies: ["Activation", "Authority", "OperatorCommands"], path: "Tests/ParapheTestSupport"
        ),
        // The parsers fed from outside, one entry each: what the fuzzers (fuzz/) and the corpus replay run.
        .target(
            name: "ParapheFuzzEntries",
            dependencies: [
                "Activation", "Authority", "AuthorityInterface", "AuthorityWire", "CMP", "Keystore", "OperatorCommands", "ParapheCLI",
                "RevocationList",
                "Terminal", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            path: "Tests/ParapheFuzzEntries"
        ),
        .executableTarget(
            name: "paraphe-testable",
            dependencies: ["ParapheCLI", "ParapheTestSupport"],
            path: "Tests/ParapheTestable",
            linkerSettings: programLinking
        ),
        // The in-process measures of the benchmark suite (bench/run drives them; see bench/README.md). Built
        // with everything else, so an API change that breaks the bench breaks the build.
        .executableTarget(
            name: "paraphe-bench",
            dependencies: [
                "Activation", "AuthorityInterface", "Authority", "Keystore", "Workstation", "PasswordQuality", "ScreenModel", "Wizard",
                "WizardRendering", "AuthorityPostgres", "CMP", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "_CryptoExtras", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "bench/Sources/paraphe-bench",
            linkerSettings: programLinking
        ),
        .testTarget(
            name: "CMPTests",
            dependencies: [
                "CMP", "HashChain", "ParapheShared", "ParapheTestSupport",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        .executableTarget(
            name: "paraphe-authority-testable",
            dependencies: ["AuthorityServerCLI", "OperatorCommands", "ParapheTestSupport"],
            path: "Tests/ParapheAuthorityTestable",
            linkerSettings: programLinking
        ),
        .testTarget(name: "ActivationTests", dependencies: ["Activation", "CivilTime", "PasswordQuality", "ParapheTestSupport"]),
        .testTarget(
            name: "KeystoreTests",
            dependencies: [
                "ParapheTestSupport",
                "ParapheShared",
                "Keystore", "Activation",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "AuthorityTests",
            dependencies: [
                "ParapheShared",
                "Authority", "AuthorityInterface", "AuthorityPostgres", "Activation", "CMP", "ParapheTestSupport", "RevocationList",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "WorkstationTests",
            dependencies: [
                "Workstation", "Authority", "AuthorityInterface", "Keystore", "Activation", "ParapheTestSupport", "PasswordQuality",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "WizardRuntimeTests",
            dependencies: [
                "WizardRuntime", "Wizard", "Workstation", "Authority", "AuthorityInterface", "Activation", "Keystore", "ParapheTestSupport",
            ]
        ),
        .testTarget(name: "TerminalTests", dependencies: ["Terminal", "ScreenModel"]),
        .testTarget(
            name: "AuthorityServerTests", dependencies: ["AuthorityServer", "Authority", "AuthorityInterface", "AuthorityWire", "ParapheTestSupport"]),
        .testTarget(name: "FuzzCorpusTests", dependencies: ["ParapheFuzzEntries"]),
        .testTarget(name: "ParapheCLITests", dependencies: ["Activation", "ParapheTestSupport"]),
        .testTarget(
            name: "WizardTests",
            dependencies: ["Wizard", "WizardRendering", "ScreenModel", "Activation", "AuthorityInterface", "PasswordQuality", "ParapheTestSupport"],
            exclude: ["Snapshots"]
        ),
    ]
)
