// swift-tools-version:6.1
// A package that uses SwiftNN as a library user would: by path, with a plain `swift build -c release`
// (no flags). CI builds and runs it (.ci/run); it trains the digits set with the recommended recipe
// and predicts from arrays of features.
import PackageDescription

let package = Package(
    name: "DigitsExample",
    dependencies: [
        .package(name: "SwiftNN", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "digits-example",
            dependencies: [
                .product(name: "NNTrain", package: "SwiftNN"),
                .product(name: "NNData", package: "SwiftNN"),
                .product(name: "NNBackends", package: "SwiftNN"),
            ]
        ),
    ]
)
