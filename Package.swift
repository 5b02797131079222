// swift-tools-version:6.1
// The SwiftNN package: dense neural-network training on OpenCL or native Swift.
//
// Module graph (each arrow an import):
//   NNCore (tensors, the Backend protocol, Dataset, the seeded generator)  <-  NNNative, NNOpenCL (+ COpenCL, NNKernels)
//     <-  NNBackends (registry, selection, `nn devices --check`)
//   NNCore  <-  NNConformance (op cases, Float64 reference, tolerances; no XCTest, so a release binary runs it)  <-  NNBackends
//     A backend outside this package registers itself in NNBackends' BackendRegistry and runs NNConformance from its tests.
//   NNCore  <-  NNData (readers of data files; knows nothing of training)
//   NNCore, NNDistributed  <-  NNTrain (knows only the Backend and Communicator protocols; + CLinux for atomic folder swaps)  <-  nn, nnbench
//   NNDistributed (Communicator protocol, single-process communicator)  <-  NNMPI (+ CMPI, Open MPI)  <-  nn, nnbench
//     NNMPI and CMPI are built only with the package trait MPI (on by default); `--disable-default-traits` builds without Open MPI.
//   NNCore  <-  NNTune (search spaces, samplers, study storage in SQLite (CSQLite) or PostgreSQL (CPostgreSQL, libpq);
//               runs trials as `nn train` processes, here and in `nn tune worker`s on other machines)
//   NNTune  <-  NNDashboard (+ FlyingFox)  <-  nn-dashboard (`nn dashboard` execs it, so nn links no HTTP server)
//   CNativeKernels (NNNative's hot loops in C per instruction set, chosen at run time)  <-  NNNative
import PackageDescription

// One OpenCL C file per op family after a shared prelude (gemm.cl is the algebra family's GEMM half: with the
// prelude, its text keys the autotuner's cache).
let kernelFiles = ["prelude.cl", "gemm.cl", "algebra.cl", "elementwise.cl", "batchnorm.cl", "classifierheads.cl", "dropout.cl", "optimizers.cl"]

let package = Package(
    name: "SwiftNN",
    products: [
        .library(name: "NNCore", targets: ["NNCore"]),
        .library(name: "NNNative", targets: ["NNNative"]),
        .library(name: "NNOpenCL", targets: ["NNOpenCL"]),
        .library(name: "NNBackends", targets: ["NNBackends"]),
        .library(name: "NNConformance", targets: ["NNConformance"]),
        .library(name: "NNTrain", targets: ["NNTrain"]),
        .library(name: "NNData", targets: ["NNData"]),
        .library(name: "NNTune", targets: ["NNTune"]),
        .library(name: "NNDistributed", targets: ["NNDistributed"]),
        .executable(name: "nn", targets: ["nn"]),
        .executable(name: "nnbench", targets: ["nnbench"]),
        .executable(name: "nn-dashboard", targets: ["nn-dashboard"]),
    ],
    // MPI: data-parallel training across processes (`mpirun -np N nn train …`) on Open MPI. On by default, so
    // CI and cluster users build it; a machine without libopenmpi-dev builds with `--disable-default-traits`.
    traits: [
        .trait(name: "MPI", description: "Data-parallel training over Open MPI (needs libopenmpi-dev to build)."),
        .default(enabledTraits: ["MPI"]),
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
        // Open MPI's C API (mpi.h from libopenmpi-dev; pkg-config ompi-c). Only the MPI trait pulls it in.
        .systemLibrary(
            name: "CMPI",
            path: "Sources/CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        // Linux calls Swift's Glibc does not import (renameat2, prctl); header-only.
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        .target(name: "NNCore"),
        // The native backend's hot loops in C, per instruction set (per-function target attributes,
        // no unsafe flags, so a consumer's plain build gets them), chosen at run time by NNNative.
        .target(name: "CNativeKernels", path: "Sources/CNativeKernels"),
        .target(name: "NNNative", dependencies: ["NNCore", "CNativeKernels"]),
        .target(name: "NNOpenCL", dependencies: ["NNCore", "COpenCL", "NNKernels"]),
        .target(name: "NNConformance", dependencies: ["NNCore"]),
        .target(name: "NNBackends", dependencies: ["NNCore", "NNNative", "NNOpenCL", "NNConformance"]),
        .target(name: "NNDistributed"),
        // Without the trait NNMPI compiles to nothing (its sources are under #if MPI), so a plain
        // `swift build --disable-default-traits` of every target never looks for mpi.h.
        .target(name: "NNMPI", dependencies: ["NNDistributed", .target(name: "CMPI", condition: .when(traits: ["MPI"]))]),
        .target(name: "NNTrain", dependencies: ["NNCore", "NNDistributed", "CLinux"]),
        .target(name: "NNData", dependencies: ["NNCore", "CZlib"]),
        .target(name: "NNTune", dependencies: ["NNCore", "CSQLite", "CPostgreSQL", "CLinux"]),
        .executableTarget(
            name: "nn",
            dependencies: ["NNCore", "NNNative", "NNOpenCL", "NNBackends", "NNConformance", "NNTrain", "NNData", "NNTune", "CLinux", "NNDistributed",
                           .target(name: "NNMPI", condition: .when(traits: ["MPI"])),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(name: "NNDashboard", dependencies: ["NNTune", .product(name: "FlyingFox", package: "FlyingFox")]),
        .executableTarget(
            name: "nn-dashboard",
            dependencies: ["NNDashboard", "NNTune", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "nnbench",
            dependencies: ["NNCore", "NNNative", "NNOpenCL", "NNBackends", "NNTrain", "NNDistributed",
                           .target(name: "NNMPI", condition: .when(traits: ["MPI"])),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "NNCoreTests", dependencies: ["NNCore"]),
        .testTarget(name: "ConformanceTests", dependencies: ["NNCore", "NNNative", "NNOpenCL", "NNKernels", "NNBackends", "NNConformance"]),
        // A toy backend (native, wrapped under its own name) registers itself and passes NNConformance,
        // as a backend in another package would; and `nn devices --check` is run as a user runs it.
        .testTarget(name: "NNBackendsTests", dependencies: ["NNCore", "NNNative", "NNBackends", "NNConformance", "nn"]),
        // Extension points used as a user outside the package uses them: plain imports, no @testable.
        .testTarget(name: "ExtensionTests", dependencies: ["NNTrain", "NNBackends", "NNData"]),
        .testTarget(name: "NNTrainTests", dependencies: ["NNCore", "NNTrain", "NNNative", "NNOpenCL", "NNBackends", "NNDistributed"]),
        // Launches `mpirun -np 2 nn train …`; fails (never skips) when mpirun or MPI support is missing.
        .testTarget(name: "NNDistributedTests", dependencies: ["NNDistributed", "NNTrain", "nn"]),
        .testTarget(name: "NNDataTests", dependencies: ["NNData", "NNTrain", "NNBackends"]),
        // A private PostgreSQL server for the tests that need one (not a product: nothing else builds it).
        .target(name: "PostgresTestServer", path: "Tests/PostgresTestServer"),
        .testTarget(name: "NNTuneTests", dependencies: ["NNTune", "NNTrain", "nn", "PostgresTestServer"]),
        .testTarget(name: "NNDashboardTests", dependencies: ["NNDashboard", "NNTune", "PostgresTestServer"]),
        .testTarget(name: "FuzzTests", dependencies: ["NNCore", "NNData", "NNTrain", "NNNative", "NNTune"],
                    exclude: ["Seeds"]),
    ]
)

// Documentation: `SWIFTNN_DOCS=1 swift package generate-documentation --target NNTrain` (what .ci/run
// does for every library). The DocC plugin is a dependency only then, so packages that depend on
// SwiftNN never resolve or clone it (nor its SymbolKit dependency).
if Context.environment["SWIFTNN_DOCS"] == "1" {
    package.dependencies.append(.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"))
}
