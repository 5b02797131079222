#!/usr/bin/env bash
# SwiftNN against reference implementations, measured side by side on this machine in one run, at one
# thread count.
#
#   Benchmarks/compare.sh [--threads N] [--backend native,opencl] [--runs N] [--suites gemm,softmax,batchnorm,train]
#
# - GEMM: `nnbench gemm --json` beside numpy's sgemm (OpenBLAS) on the same shapes and transposes,
#   with OPENBLAS_NUM_THREADS = N, timed the same way (median of the runs, each run repeated until it
#   lasts ≥ 0.1 s).
# - softmax, batch norm (training forward) and training steps of the MLP 784-512-256-10 (BN, ReLU,
#   Adam): nnbench's figures beside PyTorch's on the CPU (Benchmarks/torch_reference.py measure
#   --device cpu, the same cases, runs and thread count), Debian's python3-torch from .venv.
#
# Both references run twice: with the environment's OPENBLAS_CORETYPE (this machine sets Haswell,
# i.e. AVX2 kernels) and with it unset (OpenBLAS then detects the CPU itself and picks its AVX-512
# Cooperlake kernels here, about 1.6× faster at n = 1024 on one thread). Ratios use the faster run.
# PyTorch runs with OMP_WAIT_POLICY=PASSIVE: its OpenMP workers otherwise spin while OpenBLAS's own
# threads do the GEMMs, and on 2 cores its training steps then varied 4× from one process to the
# next (batch 128: 19k, 4.8k and 9.1k samples/s in three processes, then 22k–25k in three passive).
#
# Needs numpy (gemm) and PyTorch (the other suites) in PYTHON (default: .venv/bin/python, made by
# scripts/install-deps.sh); without them the script says which and exits 3 before building anything.
# Expect ratios to move by a third between runs on a shared 2-core machine: both sides are medians
# within one process, and the host's speed drifts between processes.
#
# NNBENCH=/path/to/nnbench skips the build (swift build -c release; the native kernels pick AVX2/AVX-512 at run time).
set -euo pipefail
cd "$(dirname "$0")/.."

threads=$(nproc)
backend=""
runs=7
suites="gemm,softmax,batchnorm,train"
while [ $# -gt 0 ]; do
    case "$1" in
        --threads|--backend|--runs|--suites)
            [ $# -ge 2 ] || { echo "compare.sh: $1 needs a value" >&2; exit 2; }
            case "$1" in
                --threads) threads="$2" ;; --backend) backend="$2" ;; --runs) runs="$2" ;; --suites) suites="$2" ;;
            esac
            shift 2 ;;
        -h|--help) awk 'NR > 1 { if (!/^#/) exit; print }' "$0"; exit 0 ;;
        *) echo "compare.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

[[ "$threads" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --threads must be a positive whole number" >&2; exit 2; }
[[ "$runs" =~ ^[0-9]+$ ]] && [ "$runs" -ge 5 ] || { echo "compare.sh: --runs must be a whole number ≥ 5 (nnbench's minimum)" >&2; exit 2; }
IFS=',' read -ra wanted <<< "$suites"
torch_suites=()
for suite in "${wanted[@]}"; do
    case "$suite" in
        gemm) ;;
        softmax|batchnorm|train) torch_suites+=("$suite") ;;
        *) echo "compare.sh: unknown suite '$suite' (gemm, softmax, batchnorm, train)" >&2; exit 2 ;;
    esac
done

python=${PYTHON:-}
if [ -z "$python" ]; then
    if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=python3; fi
fi
# First, before any build: a missing reference is a refusal, never a table with a column left out.
if [[ ",$suites," == *,gemm,* ]] && ! "$python" -c 'import numpy' 2>/dev/null; then
    echo "compare.sh: $python cannot import numpy, the GEMM reference (bash scripts/install-deps.sh makes .venv); not comparing." >&2
    exit 3
fi
if [ ${#torch_suites[@]} -gt 0 ] && ! "$python" Benchmarks/torch_reference.py check --device cpu; then
    echo "compare.sh: the ${torch_suites[*]} suites need PyTorch (bash scripts/install-deps.sh installs Debian's python3-torch and .venv); not comparing." >&2
    exit 3
fi

if [ -z "${NNBENCH:-}" ]; then
    echo "==> building nnbench (release)" >&2
    swift build -c release --product nnbench >&2
    NNBENCH="$(swift build -c release --show-bin-path)/nnbench"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bench_args=(--threads "$threads" --runs "$runs" --json)
[ -n "$backend" ] && bench_args+=(--backend "$backend")

for suite in "${wanted[@]}"; do
    echo "==> nnbench $suite" >&2
    "$NNBENCH" "$suite" "${bench_args[@]}" > "$work/$suite.json"
done

# numpy's sgemm on the shapes nnbench measured, in a fresh process per OPENBLAS setting (OpenBLAS
# reads its thread count and core type once, at import).
numpy_gemm() { # $1: output file; the environment carries the OpenBLAS settings
    "$python" - "$work/gemm.json" "$runs" > "$1" <<'PY'
import json, re, sys, time
import numpy as np

report = json.load(open(sys.argv[1]))
runs = int(sys.argv[2])
rng = np.random.default_rng(0)
out = {}
for row in report["rows"]:
    # Case names read "(m×k)·(k×n)  label" or "n×n×n  label"; recover m, n, k and the transposes.
    name = row["name"]
    dims = [int(d) for d in re.findall(r"\d+", name.split("  ")[0])]
    if "(" in name:
        m, k, _, n = dims
    else:
        m = n = k = dims[0]
    trans_a, trans_b = "Xᵀ" in name, "Wᵀ" in name
    a = rng.uniform(-1, 1, (k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, k) if trans_b else (k, n)).astype(np.float32)
    opa, opb = (a.T if trans_a else a), (b.T if trans_b else b)
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(opa, opb, out=c)  # warm-up: thread pool start, first-touch
    reps = 1
    while True:
        t = time.perf_counter()
        for _ in range(reps): np.matmul(opa, opb, out=c)
        if time.perf_counter() - t >= 0.1: break
        reps *= 2
    rates = []
    for _ in range(runs):
        t = time.perf_counter()
        for _ in range(reps): np.matmul(opa, opb, out=c)
        rates.append(2.0 * m * n * k * reps / (time.perf_counter() - t) / 1e9)
    rates.sort()
    out[name] = rates[len(rates) // 2]
print(json.dumps({"gflops": out}))
PY
}

if [ -f "$work/gemm.json" ]; then
    echo "==> numpy sgemm, OPENBLAS_NUM_THREADS=$threads, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}" >&2
    OPENBLAS_NUM_THREADS="$threads" numpy_gemm "$work/numpy-env.json"
    echo "==> numpy sgemm, OPENBLAS_NUM_THREADS=$threads, OPENBLAS_CORETYPE unset" >&2
    (unset OPENBLAS_CORETYPE; OPENBLAS_NUM_THREADS="$threads" numpy_gemm "$work/numpy-auto.json")
fi

if [ ${#torch_suites[@]} -gt 0 ]; then
    torch_measure() { # $1: output file; the environment carries the OpenBLAS settings
        OPENBLAS_NUM_THREADS="$threads" OMP_WAIT_POLICY=PASSIVE "$python" Benchmarks/torch_reference.py measure --device cpu \
            --threads "$threads" --runs "$runs" --suites "$(IFS=,; echo "${torch_suites[*]}")" > "$1"
    }
    echo "==> PyTorch (CPU), $threads thread(s), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}" >&2
    torch_measure "$work/torch-env.jsonl"
    echo "==> PyTorch (CPU), $threads thread(s), OPENBLAS_CORETYPE unset" >&2
    (unset OPENBLAS_CORETYPE; torch_measure "$work/torch-auto.jsonl")
fi

"$python" - "$work" "$threads" "${OPENBLAS_CORETYPE:-unset}" <<'PY'
import json, os, sys

sys.path.insert(0, "Benchmarks")
from torch_reference import case_key, torch_figures

work, threads, coretype = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def load(name):
    path = os.path.join(work, name)
    return json.load(open(path)) if os.path.exists(path) else None

def medians(row):
    return {r["backend"]: r["figure"]["median"] for r in row["results"] if r.get("figure")}

def fmt(v):
    return "–" if v is None else (f"{v:.0f}" if v >= 1000 else f"{v:.1f}" if v >= 10 else f"{v:.2f}")

def ratio(a, b):
    return "–" if a is None or not b else f"{a / b:.2f}×"

def faster(*values):
    present = [v for v in values if v is not None]
    return max(present) if present else None

def table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print()

reports = {suite: load(f"{suite}.json") for suite in ("gemm", "softmax", "batchnorm", "train")}
first = next((r for r in reports.values() if r), {"backends": []})
backends = [b["name"] for b in first["backends"]]
print(f"SwiftNN vs references, {threads} thread(s), measured in this run\n")

gemm, np_env, np_auto = reports["gemm"], load("numpy-env.json"), load("numpy-auto.json")
if gemm:
    head = ["GEMM (GFLOP/s, median)"] + backends + [f"numpy CORETYPE={coretype}", "numpy CORETYPE unset"] \
        + [f"{b}/numpy" for b in backends]
    rows = [head]
    for row in gemm["rows"]:
        m = medians(row)
        ref_env, ref_auto = np_env["gflops"].get(row["name"]), np_auto["gflops"].get(row["name"])
        rows.append([row["name"]] + [fmt(m.get(b)) for b in backends] + [fmt(ref_env), fmt(ref_auto)]
                    + [ratio(m.get(b), faster(ref_env, ref_auto)) for b in backends])
    table(rows)

torch_env, torch_auto = (torch_figures(os.path.join(work, name)) if os.path.exists(os.path.join(work, name)) else {}
                         for name in ("torch-env.jsonl", "torch-auto.jsonl"))
versions = set()
for name in ("torch-env.jsonl", "torch-auto.jsonl"):
    path = os.path.join(work, name)
    if os.path.exists(path):
        versions |= {json.loads(line)["torch"] for line in open(path) if line.startswith("{")}
for suite, title in (("train", "training step (samples/s)"), ("softmax", "softmax (GB/s)"), ("batchnorm", "batch norm (GB/s)")):
    report = reports[suite]
    if not report:
        continue
    rows = [[title] + backends + [f"PyTorch CORETYPE={coretype}", "PyTorch CORETYPE unset"] + [f"{b}/PyTorch" for b in backends]]
    for row in report["rows"]:
        m = medians(row)
        key = case_key(row["name"])
        ref_env, ref_auto = torch_env.get((key, "torch-eager")), torch_auto.get((key, "torch-eager"))
        rows.append([row["name"]] + [fmt(m.get(b)) for b in backends] + [fmt(ref_env), fmt(ref_auto)]
                    + [ratio(m.get(b), faster(ref_env, ref_auto)) for b in backends])
    table(rows)

print("Ratios are against the faster of each reference's two runs: OPENBLAS_CORETYPE=Haswell forces OpenBLAS's")
print("AVX2 kernels; unset, it detects the CPU (AVX-512 Cooperlake kernels on this machine). PyTorch is")
print(f"{', '.join(sorted(versions)) or '–'} on the CPU, OMP_WAIT_POLICY=PASSIVE; of the batch-norm rows it is timed on the training")
print("forward alone. Byte models: see nnbench's table footer.")
PY
