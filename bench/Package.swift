// swift-tools-version:6.0
// The benchmark suite of Paraphe (issue 6). Its own package, so the root's `swift test` (CI) never
// builds or runs it. Run everything with `bench/run`; see bench/README.md.
import PackageDescription

let package = Package(
    name: "ParapheBench",
    platforms: [.macOS(.v14)],
    dependencies: [
        // The root package, whatever its directory is called in the clone.
        .package(name: "Paraphe", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "paraphe-bench",
            dependencies: [.product(name: "ParapheKit", package: "Paraphe")],
            path: "Sources/paraphe-bench"
        ),
    ]
)
