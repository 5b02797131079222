import Foundation
import XCTest

/// Runs a parser over mutants of valid seed files and fails on anything but a result or a thrown
/// error: a trap ends the test process (a visible failure naming the format and seed), a slow input
/// fails the time bound, and the process's peak memory is checked against the allocation bound.
///
/// `NN_FUZZ_MUTANTS` raises or lowers the count (default 2,000 per format, the issue's bar);
/// `NN_FUZZ_SEED` replays another sequence.
enum FuzzHarness {
    static var mutantCount: Int {
        ProcessInfo.processInfo.environment["NN_FUZZ_MUTANTS"].flatMap(Int.init) ?? 2000
    }

    static var baseSeed: UInt64 {
        ProcessInfo.processInfo.environment["NN_FUZZ_SEED"].flatMap(UInt64.init) ?? 12
    }

    /// Any one input taking longer than this is a hang (the issue's bound).
    static let slowInputSeconds = 20.0
    /// The process's peak resident memory may not pass this (the issue's 8 GB bound).
    static let peakMemoryBytes = 8 << 30

    struct Outcome {
        var accepted = 0
        var rejected = 0
        var slowest = 0.0
    }

    /// Feeds every seed and `mutantCount` mutants to `parse`, which must return or throw.
    ///
    /// The mutant's index and seed are printed before each run when `NN_FUZZ_VERBOSE=1`, so a trap
    /// can be replayed with `NN_FUZZ_SEED`.
    @discardableResult
    static func run(_ format: String, seeds: [[UInt8]], layout: Mutator.Layout = .binary,
                    file: StaticString = #filePath, line: UInt = #line,
                    parse: ([UInt8]) throws -> Void) -> Outcome {
        precondition(!seeds.isEmpty, "a fuzz target needs at least one valid seed file")
        let verbose = ProcessInfo.processInfo.environment["NN_FUZZ_VERBOSE"] == "1"
        var outcome = Outcome()
        for seed in seeds {
            XCTAssertNoThrow(try parse(seed), "\(format): a seed file must be valid", file: file, line: line)
        }
        var mutator = Mutator(seed: baseSeed &+ UInt64(truncatingIfNeeded: format.hashValueStable))
        for index in 0..<mutantCount {
            let mutant = mutator.mutate(seeds[index % seeds.count], layout: layout)
            if verbose { print("fuzz \(format) #\(index): \(mutant.count) bytes") }
            // Kept on disk while it runs, so a trap leaves the input that caused it behind.
            _ = FileManager.default.createFile(atPath: candidatePath(format), contents: Data(mutant))
            let start = Date()
            do {
                try parse(mutant)
                outcome.accepted += 1
            } catch {
                outcome.rejected += 1
            }
            let seconds = Date().timeIntervalSince(start)
            outcome.slowest = max(outcome.slowest, seconds)
            if seconds > slowInputSeconds {
                XCTFail("\(format) mutant #\(index) (NN_FUZZ_SEED=\(baseSeed)) took \(seconds) s, over the \(slowInputSeconds) s bound",
                        file: file, line: line)
            }
        }
        try? FileManager.default.removeItem(atPath: candidatePath(format))  // no trap: nothing to keep
        let peak = peakResidentBytes()
        XCTAssertLessThan(peak, peakMemoryBytes, "\(format): peak resident memory \(peak >> 20) MiB", file: file, line: line)
        print("fuzz \(format): \(mutantCount) mutants, \(outcome.accepted) accepted, \(outcome.rejected) rejected with an error, "
              + "slowest \(String(format: "%.3f", outcome.slowest)) s, peak RSS \(peak >> 20) MiB")
        return outcome
    }

    /// Where the input being parsed is kept: after a trap, this file reproduces it.
    static func candidatePath(_ format: String) -> String {
        (NSTemporaryDirectory() as NSString).appendingPathComponent("nn-fuzz-\(format)-current.bin")
    }

    /// VmHWM of this process, from /proc (Linux); 0 where it cannot be read.
    static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kilobytes * 1024
    }
}

private extension String {
    /// FNV-1a of the UTF-8 bytes: unlike `hashValue`, the same on every run, so a format's mutants are reproducible.
    var hashValueStable: UInt64 {
        utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
