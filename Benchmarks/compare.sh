#!/usr/bin/env bash
# SwiftNN against reference implementations, on this machine, at one thread count.
#
#   Benchmarks/compare.sh [--threads N] [--backend native,opencl] [--runs N] [--suites gemm,softmax,batchnorm,train]
#
# - GEMM: `nnbench gemm --json` beside numpy's sgemm (OpenBLAS) on the same shapes and transposes,
#   with OPENBLAS_NUM_THREADS = N, timed the same way (median of the runs, each run repeated until it
#   lasts ≥ 0.1 s). numpy runs twice: with the environment's OPENBLAS_CORETYPE (this machine sets
#   Haswell, i.e. AVX2 kernels) and with it unset (OpenBLAS then detects the CPU itself). Measured
#   here (numpy's OpenBLAS 0.3.23, threadpoolctl reporting the kernel set): CORETYPE=Haswell runs the
#   AVX2 kernels, 44 GFLOP/s at n = 1024 on 1 thread; unset, OpenBLAS picks Cooperlake (AVX-512)
#   kernels, 69 GFLOP/s median — about 1.6× faster. The environment's setting therefore understates
#   OpenBLAS on this CPU; ratios below use the faster of the two runs.
# - softmax, batch norm and training steps: nnbench's figures beside PyTorch's. PyTorch cannot be
#   installed here (no wheel reachable), so its figures are the ones quoted in the performance issue,
#   measured on this kind of machine:
#     training step, MLP 784-512-256-10 + BN + ReLU + Adam: batch 128: ~9k samples/s on 1 thread, 12k on 2;
#                                                           batch 512: 17k on 1, 27k on 2
#     softmax 4096×1000: 6 GB/s on 1 thread, 10 on 2
#     BatchNorm1d forward (training) 4096×1024: 4.4–5 GB/s on 1 thread, 7–9 on 2
#   A reference exists for 1 and 2 threads only; other counts print no ratio.
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
        --threads) threads="$2"; shift 2 ;;
        --backend) backend="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --suites) suites="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 { if (!/^#/) exit; print }' "$0"; exit 0 ;;
        *) echo "compare.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

if [ -z "${NNBENCH:-}" ]; then
    echo "==> building nnbench (release)" >&2
    swift build -c release --product nnbench >&2
    NNBENCH="$(swift build -c release --show-bin-path)/nnbench"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bench_args=(--threads "$threads" --runs "$runs" --json)
[ -n "$backend" ] && bench_args+=(--backend "$backend")

IFS=',' read -ra wanted <<< "$suites"
for suite in "${wanted[@]}"; do
    echo "==> nnbench $suite" >&2
    "$NNBENCH" "$suite" "${bench_args[@]}" > "$work/$suite.json"
done

# numpy's sgemm on the shapes nnbench measured, in a fresh process per OPENBLAS setting (OpenBLAS
# reads its thread count and core type once, at import).
numpy_gemm() { # $1: output file; the environment carries the OpenBLAS settings
    python3 - "$work/gemm.json" "$runs" > "$1" <<'PY'
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

python3 - "$work" "$threads" "${OPENBLAS_CORETYPE:-unset}" <<'PY'
import json, os, sys

work, threads, coretype = sys.argv[1], int(sys.argv[2]), sys.argv[3]

# PyTorch figures quoted in the performance issue (samples/s and GB/s), per thread count; ranges as (low, high).
PYTORCH = {
    "train": {128: {1: (9000, 9000), 2: (12000, 12000)}, 512: {1: (17000, 17000), 2: (27000, 27000)}},
    "softmax": {1: (6.0, 6.0), 2: (10.0, 10.0)},
    "batchnorm-forward": {1: (4.4, 5.0), 2: (7.0, 9.0)},
}

def load(name):
    path = os.path.join(work, name)
    return json.load(open(path)) if os.path.exists(path) else None

def medians(row):
    return {r["backend"]: r["figure"]["median"] for r in row["results"] if r.get("figure")}

def fmt(v):
    return "–" if v is None else (f"{v:.0f}" if v >= 1000 else f"{v:.1f}" if v >= 10 else f"{v:.2f}")

def ratio(a, b):
    return "–" if a is None or not b else f"{a / b:.2f}×"

def table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print()

gemm, np_env, np_auto = load("gemm.json"), load("numpy-env.json"), load("numpy-auto.json")
backends = [b["name"] for b in (gemm or load("train.json") or load("softmax.json") or load("batchnorm.json") or {"backends": []})["backends"]]
print(f"SwiftNN vs references, {threads} thread(s)\n")

if gemm:
    head = ["GEMM (GFLOP/s, median)"] + backends + [f"numpy CORETYPE={coretype}", "numpy CORETYPE unset"] \
        + [f"{b}/numpy" for b in backends]
    rows = [head]
    for row in gemm["rows"]:
        m = medians(row)
        ref_env, ref_auto = np_env["gflops"].get(row["name"]), np_auto["gflops"].get(row["name"])
        best_ref = max(x for x in (ref_env, ref_auto) if x is not None)
        rows.append([row["name"]] + [fmt(m.get(b)) for b in backends] + [fmt(ref_env), fmt(ref_auto)]
                    + [ratio(m.get(b), best_ref) for b in backends])
    table(rows)
    print("  ratios are against the faster of the two numpy runs; OPENBLAS_CORETYPE=Haswell forces OpenBLAS's AVX2")
    print("  kernels; unset, it detects the CPU (Cooperlake AVX-512 kernels on this machine).\n")

def reference_rows(title, report, pick):
    if not report: return
    rows = [[title] + backends + ["PyTorch (issue)"] + [f"{b}/PyTorch" for b in backends]]
    for row in report["rows"]:
        ref = pick(row)
        m = medians(row)
        if ref is None:
            rows.append([row["name"]] + [fmt(m.get(b)) for b in backends] + ["–"] + ["–" for _ in backends])
            continue
        low, high = ref
        ref_text = fmt(low) if low == high else f"{fmt(low)}–{fmt(high)}"
        mid = (low + high) / 2
        rows.append([row["name"]] + [fmt(m.get(b)) for b in backends] + [ref_text] + [ratio(m.get(b), mid) for b in backends])
    table(rows)

def train_ref(row):
    batch = int(row["name"].rsplit(" ", 1)[-1])
    return PYTORCH["train"].get(batch, {}).get(threads)

reference_rows("training step (samples/s)", load("train.json"), train_ref)
reference_rows("softmax (GB/s)", load("softmax.json"), lambda row: PYTORCH["softmax"].get(threads))
reference_rows("batch norm (GB/s)", load("batchnorm.json"),
               lambda row: PYTORCH["batchnorm-forward"].get(threads) if row["name"].startswith("forward (training)") else None)
print("PyTorch is not installable here; its figures are the constants quoted in the performance issue (see the")
print("header of this script). Ratios against a range use its midpoint. Byte models: see nnbench's table footer.")
PY
