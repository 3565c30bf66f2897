// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "runbook",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "runbook", targets: ["runbook"]),
        .library(name: "RunbookKit", targets: ["RunbookKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // zlib: run records in the cluster are gzip-compressed, as Helm compresses releases.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // fork/exec with a process group, PR_SET_PDEATHSIG and default signals: no Swift API does all three.
        .target(name: "CSpawn"),
        .target(name: "RunbookKit", dependencies: ["CYAML", "CCurl", "CLibPQ", "CZlib", "COpenSSL", "CSpawn"]),
        .executableTarget(
            name: "runbook",
            dependencies: [
                "RunbookKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["RunbookKit", "COpenSSL"], path: "Sources/TestSupport"),
        .testTarget(name: "RunbookKitTests", dependencies: ["RunbookKit", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["RunbookKit", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
