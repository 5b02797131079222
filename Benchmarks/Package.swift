// swift-tools-version:6.1
// The SwiftNN benchmark suite, a package of its own so that ordo-one/benchmark and its dependency
// tree never weigh on the library's build or CI. Run from this folder:
//   swift package benchmark                                   # run every benchmark
//   swift package benchmark baseline update main              # record a baseline
//   swift package benchmark baseline check main               # fail on a regression past the thresholds
import PackageDescription

let package = Package(
    name: "SwiftNNBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "SwiftNN", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "BackendBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NNCore", package: "SwiftNN"),
                .product(name: "NNNative", package: "SwiftNN"),
                .product(name: "NNOpenCL", package: "SwiftNN"),
                .product(name: "NNTrain", package: "SwiftNN"),
            ],
            path: "Benchmarks/BackendBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
