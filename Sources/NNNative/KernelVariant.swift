import CNativeKernels
import Foundation
import NNCore

/// Which instruction set the native backend's hot loops run on, chosen at run time.
///
/// Swift compiles the whole package for one instruction set fixed at build time, and SwiftPM does
/// not let a package pass `-target-cpu` to its consumers' builds, so a plain `swift build -c release`
/// targets baseline x86-64 (SSE2, no FMA). The GEMM micro-kernels therefore also exist in C
/// (`CNativeKernels`), each compiled for AVX2+FMA and AVX-512 with per-function target attributes;
/// this type says which of them runs, the way OpenBLAS and oneDNN dispatch.
///
/// The variant is decided once per process from the CPU (CPUID/XGETBV), never from timing, so two
/// runs of one binary on one machine take the same code path and give the same bits.
/// `NN_NATIVE_ISA=baseline|avx2|avx512` overrides the choice (for tests and comparisons); a
/// variant this CPU lacks is refused, never silently replaced.
public enum KernelVariant: String, CaseIterable, Sendable, CustomStringConvertible {
    /// The Swift SIMD loops as the build compiled them (SSE2 in a plain build; whatever
    /// `-target-cpu` allowed otherwise). Multiply-adds fuse only when the build makes that fast.
    case baseline
    /// The C micro-kernels for AVX2 with FMA.
    case avx2
    /// The C micro-kernels for AVX-512F (with AVX2 and FMA for the narrower shapes).
    case avx512

    public static let environmentVariable = "NN_NATIVE_ISA"

    /// "baseline", "avx2+fma", "avx512f".
    public var description: String {
        switch self {
        case .baseline: "baseline"
        case .avx2: "avx2+fma"
        case .avx512: "avx512f"
        }
    }

    /// The variants this CPU and OS can run, baseline first.
    public static let supported: [KernelVariant] = supported(features: nn_cpu_features())

    /// The variants a CPU with `features` (bits of `nn_cpu_features()`) can run, baseline first.
    public static func supported(features: UInt32) -> [KernelVariant] {
        var variants: [KernelVariant] = [.baseline]
        if features & UInt32(NN_CPU_AVX2_FMA) != 0 { variants.append(.avx2) }
        if features & UInt32(NN_CPU_AVX512F) != 0 { variants.append(.avx512) }
        return variants
    }

    /// Whether this CPU can run the variant.
    public var isSupported: Bool { Self.supported.contains(self) }

    /// The widest variant this CPU supports.
    public static var best: KernelVariant { supported.last ?? .baseline }

    /// The variant named by `request` (an `NN_NATIVE_ISA` value; nil or empty means the widest
    /// supported), checked against `supported`.
    public static func resolve(_ request: String?, supported: [KernelVariant] = supported) throws -> KernelVariant {
        let text = (request ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        if text.isEmpty || text == "auto" { return supported.last ?? .baseline }
        let aliases: [String: KernelVariant] = ["baseline": .baseline, "sse2": .baseline, "avx2": .avx2, "avx2+fma": .avx2,
                                                "avx512": .avx512, "avx512f": .avx512, "avx-512": .avx512]
        guard let variant = aliases[text] else {
            throw KernelVariantError.unknown(request ?? "")
        }
        guard supported.contains(variant) else {
            throw KernelVariantError.unsupported(variant, supported: supported)
        }
        return variant
    }

    /// The process's variant: `NN_NATIVE_ISA` if set, else the widest supported.
    public static let processDefault: Result<KernelVariant, KernelVariantError> = Result {
        try resolve(ProcessInfo.processInfo.environment[environmentVariable])
    }.mapError { $0 as? KernelVariantError ?? .unknown("\($0)") }

    /// ``processDefault``, or — when `NN_NATIVE_ISA` asks for something this machine cannot run —
    /// the error on stderr and exit status 64. Running another variant instead would make a
    /// measurement or test that asked for one silently measure a different one.
    static var processDefaultOrExit: KernelVariant {
        switch processDefault {
        case .success(let variant): return variant
        case .failure(let error):
            FileHandle.standardError.write(Data("nn: \(error)\n".utf8))
            exit(64)
        }
    }

    /// Whether the Float GEMM kernels of this variant fuse multiply-adds (the C kernels always do);
    /// nil for baseline, where ``GemmArithmetic`` decides from how the Swift code was compiled.
    var fusesMultiplyAdd: Bool? { self == .baseline ? nil : true }

    /// The GEMM tile whose C kernel this variant provides; nil for baseline (timed instead).
    var naturalTile: GemmTile? {
        switch self {
        case .baseline: nil
        case .avx2: .vector256
        case .avx512: .vector512
        }
    }
}

/// Why an `NN_NATIVE_ISA` value cannot be used.
public enum KernelVariantError: Error, Equatable, CustomStringConvertible {
    case unknown(String)
    case unsupported(KernelVariant, supported: [KernelVariant])

    public var description: String {
        let variable = KernelVariant.environmentVariable
        switch self {
        case .unknown(let text):
            return "\(variable)='\(text)' is not a kernel variant; use baseline, avx2 or avx512, or unset it to pick the widest this CPU supports"
        case .unsupported(let variant, let supported):
            return "\(variable)=\(variant.rawValue) asks for \(variant) kernels, which this CPU does not support; "
                + "it supports \(supported.map(\.rawValue).joined(separator: ", ")) — choose one of those or unset \(variable)"
        }
    }
}

extension NativeBackend {
    /// A backend whose hot loops run `kernels` instead of the process's variant, for tests and
    /// benchmarks comparing variants in one process. Throws when this CPU cannot run it.
    public convenience init(precision: Precision = .float32, threads: Int? = nil, kernels: KernelVariant) throws {
        guard kernels.isSupported else {
            throw KernelVariantError.unsupported(kernels, supported: KernelVariant.supported)
        }
        self.init(precision: precision, threads: threads, selectedKernels: kernels)
    }

    /// The device line's kernel clause, e.g. "kernels avx2+fma (selected at run time; NN_NATIVE_ISA overrides)".
    var kernelDescription: String {
        let how: String
        if case .success(let chosen) = KernelVariant.processDefault, chosen == kernels,
           ProcessInfo.processInfo.environment[KernelVariant.environmentVariable] == nil {
            how = "selected at run time; \(KernelVariant.environmentVariable) overrides"
        } else if ProcessInfo.processInfo.environment[KernelVariant.environmentVariable] != nil, case .success(let chosen) = KernelVariant.processDefault, chosen == kernels {
            how = "set by \(KernelVariant.environmentVariable)"
        } else {
            how = "set by the caller"
        }
        return "kernels \(kernels) (\(how))"
    }

    /// Whether this backend's GEMM fuses multiply-adds: decides the bits of every product.
    var fusedMultiplyAdd: Bool {
        (precision == .float32 ? kernels.fusesMultiplyAdd : nil) ?? GemmArithmetic.fused
    }
}
