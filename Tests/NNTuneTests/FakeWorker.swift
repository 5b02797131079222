import Foundation
@testable import NNTune

/// A stand-in for `nn train`: a shell script that reads `--lr` and `--out`, writes a metrics line per
/// epoch into `<out>/metrics.jsonl`, logs its start and finish, and prints the final JSON line — so
/// tuner tests exercise real worker processes without training anything.
///
/// It logs "finish" only after printing its result, so a logged finish always left a result for the
/// tuner to find; and it logs "overlap" when it starts while an earlier worker of its trial still runs.
///
/// Its dev accuracy peaks at lr = 1e-2: 0.9 − 0.2·|log₁₀ lr + 2|, reached linearly over the epochs.
struct FakeWorker {
    let directory: URL
    var epochs = 3
    var epochSeconds = 0.0
    /// Trials with lr above this exit with status 3 after writing to stderr.
    var crashAboveLearningRate: Double?

    var scriptPath: String { directory.appendingPathComponent("fake-nn.sh").path }
    var logPath: String { directory.appendingPathComponent("worker.log").path }

    func install() throws -> WorkerCommand {
        let crash = crashAboveLearningRate.map {
            "if awk -v lr=\"$lr\" 'BEGIN{exit !(lr > \($0))}'; then echo \"fake: diverged at lr $lr\" >&2; exit 3; fi"
        } ?? ""
        let script = """
            #!/bin/sh
            out=""; lr="0.01"
            while [ $# -gt 0 ]; do
              case "$1" in
                --out) out="$2"; shift 2 ;;
                --lr) lr="$2"; shift 2 ;;
                *) shift ;;
              esac
            done
            pidfile="\(directory.path)/running-$NN_TUNE_TRIAL.pid"
            old=$(cat "$pidfile" 2>/dev/null)
            if [ -n "$old" ] && tr '\\0' ' ' < "/proc/$old/cmdline" 2>/dev/null | grep -q "/trial-$(printf %04d "$NN_TUNE_TRIAL")/attempt-"; then
              echo "overlap $NN_TUNE_TRIAL $$ $old" >> "\(logPath)"
            fi
            echo $$ > "$pidfile"
            echo "start $NN_TUNE_TRIAL $$" >> "\(logPath)"
            \(crash)
            acc=$(awk -v lr="$lr" 'BEGIN{d=log(lr)/log(10)+2; if(d<0)d=-d; a=0.9-0.2*d; if(a<0.05)a=0.05; printf "%.6f", a}')
            e=1
            while [ $e -le \(epochs) ]; do
              sleep \(epochSeconds)
              a=$(awk -v a="$acc" -v e=$e 'BEGIN{printf "%.6f", a*e/\(epochs)}')
              echo "{\\"epoch\\": $e, \\"epochs\\": \(epochs), \\"dev_accuracy\\": $a, \\"train_loss\\": 0.5}" >> "$out/metrics.jsonl"
              e=$((e+1))
            done
            echo "epoch lines done"
            echo "{\\"backend\\": \\"fake\\", \\"dev_accuracy\\": $acc, \\"train_accuracy\\": 0.99, \\"test_accuracy\\": $acc, \\"samples_per_second\\": 1000, \\"wall_seconds\\": 0.1}"
            echo "finish $NN_TUNE_TRIAL" >> "\(logPath)"
            """
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scriptPath)
        return WorkerCommand(executable: scriptPath, leadingArguments: ["train"])
    }

    /// The worker log's lines, in order ("start 3 PID", "finish 3", "overlap 3 PID OLDPID").
    func logLines() -> [String] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// How many times each trial's worker started and finished, from the worker log.
    func events() -> (starts: [Int: Int], finishes: [Int: Int]) {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        var starts: [Int: Int] = [:], finishes: [Int: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let id = Int(parts[1]) else { continue }
            if parts[0] == "start" { starts[id, default: 0] += 1 }
            if parts[0] == "finish" { finishes[id, default: 0] += 1 }
        }
        return (starts, finishes)
    }
}

func makeTemporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("nntune-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func learningRateSpace() throws -> SearchSpace {
    try SearchSpace(["lr": .logUniform(low: 1e-4, high: 1)])
}
