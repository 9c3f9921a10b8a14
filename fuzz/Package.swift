// swift-tools-version: 6.1
// The fuzzers of Paraphe: one libFuzzer binary whose target (PARAPHE_FUZZ_TARGET) is one of the parsers fed from
// outside (Tests/ParapheFuzzEntries in the root package). A package of its own: it is built instrumented
// (-sanitize=fuzzer,address), which the root package's executables (with their own main) cannot be. Run it with
// scripts/fuzz; the corpora in corpus/ are replayed uninstrumented by the root test suite.
import PackageDescription

let package = Package(
    name: "ParapheFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "Paraphe", path: "..")],
    targets: [
        .target(name: "CFuzzer"),
        .executableTarget(
            name: "paraphe-fuzz", dependencies: ["CFuzzer", .product(name: "ParapheFuzzEntries", package: "Paraphe")],
            // gold fails on the instrumented objects' debug information; lld links them.
            linkerSettings: [.unsafeFlags(["-use-ld=lld"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
