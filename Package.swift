// swift-tools-version:6.0
// The SwiftNN package: dense neural-network training on OpenCL or native Swift.
//
// Module graph (each arrow an import):
//   NNCore  <-  NNNative, NNOpenCL (+ COpenCL, NNKernels)  <-  NNBackends (selection)
//   NNCore  <-  NNTrain (knows only the Backend protocol; + CLinux for atomic folder swaps)  <-  NNData, nn, nnbench
//   NNCore  <-  NNTune (search spaces, samplers, study storage in SQLite (CSQLite) or PostgreSQL (CPostgreSQL, libpq);
//               runs trials as `nn train` processes, here and in `nn tune worker`s on other machines)
//   NNTune  <-  NNDashboard (+ FlyingFox)  <-  nn-dashboard (`nn dashboard` execs it, so nn links no HTTP server)
import PackageDescription

let kernelFiles = ["gemm.cl", "elementwise.cl", "reduction.cl", "batchnorm.cl", "softmax.cl", "dropout.cl", "optimizers.cl"]

let package = Package(
    name: "SwiftNN",
    products: [
        .library(name: "NNCore", targets: ["NNCore"]),
        .library(name: "NNNative", targets: ["NNNative"]),
        .library(name: "NNOpenCL", targets: ["NNOpenCL"]),
        .library(name: "NNBackends", targets: ["NNBackends"]),
        .library(name: "NNTrain", targets: ["NNTrain"]),
        .library(name: "NNData", targets: ["NNData"]),
        .library(name: "NNTune", targets: ["NNTune"]),
        .executable(name: "nn", targets: ["nn"]),
        .executable(name: "nnbench", targets: ["nnbench"]),
        .executable(name: "nn-dashboard", targets: ["nn-dashboard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The dashboard's HTTP server: async/await over plain sockets, no SwiftNIO (a short CI build).
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenCL",
            path: "Sources/COpenCL",
            pkgConfig: "OpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers", "pocl-opencl-icd"])]
        ),
        .target(
            name: "NNKernels",
            path: "Kernels",
            exclude: [],
            resources: kernelFiles.map { .embedInCode($0) }
        ),
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CPostgreSQL",
            path: "Sources/CPostgreSQL",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Linux calls Swift's Glibc does not import (renameat2, prctl); header-only.
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        .target(name: "NNCore"),
        .target(name: "NNNative", dependencies: ["NNCore"]),
        .target(name: "NNOpenCL", dependencies: ["NNCore", "COpenCL", "NNKernels"]),
        .target(name: "NNBackends", dependencies: ["NNCore", "NNNative", "NNOpenCL"]),
        .target(name: "NNTrain", dependencies: ["NNCore", "CLinux"]),
        .target(name: "NNData", dependencies: ["NNCore", "NNTrain", "CZlib"]),
        .target(name: "NNTune", dependencies: ["NNCore", "CSQLite", "CPostgreSQL"]),
        .executableTarget(
            name: "nn",
            dependencies: ["NNCore", "NNNative", "NNOpenCL", "NNBackends", "NNTrain", "NNData", "NNTune", "CLinux",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(name: "NNDashboard", dependencies: ["NNTune", .product(name: "FlyingFox", package: "FlyingFox")]),
        .executableTarget(
            name: "nn-dashboard",
            dependencies: ["NNDashboard", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "nnbench",
            dependencies: ["NNCore", "NNNative", "NNOpenCL", "NNBackends", "NNTrain",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "NNCoreTests", dependencies: ["NNCore"]),
        .testTarget(name: "ConformanceTests", dependencies: ["NNCore", "NNNative", "NNOpenCL", "NNBackends"]),
        .testTarget(name: "NNTrainTests", dependencies: ["NNCore", "NNTrain", "NNNative", "NNBackends"]),
        .testTarget(name: "NNDataTests", dependencies: ["NNData", "NNTrain", "NNBackends"]),
        .testTarget(name: "NNTuneTests", dependencies: ["NNTune", "NNTrain", "nn"]),
        .testTarget(name: "NNDashboardTests", dependencies: ["NNDashboard", "NNTune"]),
        .testTarget(name: "FuzzTests", dependencies: ["NNCore", "NNData", "NNTrain", "NNNative", "NNTune"],
                    exclude: ["Seeds"]),
    ]
)
