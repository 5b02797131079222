#!/usr/bin/env bash
# A plain release build against one built with -target-cpu native, and native against OpenCL (PoCL),
# interleaved on this machine:
#
#   Benchmarks/variants.sh [--rounds N] [--threads 1,2] [--runs N] [--batches 128,512]
#
# Builds nnbench twice, side by side (scratch paths .build-flagless and .build-native; set
# FLAGLESS=/path/to/nnbench and FLAGGED=/path/to/nnbench to skip the builds), then for each round
# and thread count runs, back to back: `nnbench gemm --sizes 1024` and `nnbench train` (native) on
# both builds, then `nnbench train` on the flagless build with native and OpenCL side by side in one
# process. Rounds alternate the order of the two builds. The summary gives, per
# figure, the median over rounds of each round's median, the range of those, and the ratios
# flagless/flagged and native/opencl computed within each round (so load that shifts between rounds
# cancels), as median [min–max].
#
# On a shared machine the absolute figures move with the neighbours' load; read the within-round
# ratios. Each nnbench run also names the kernel variant in its device line (NN_NATIVE_ISA overrides).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3
threads_list="1,2"
runs=5
batches="128,512"
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --threads) threads_list="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --batches) batches="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 { if (!/^#/) exit; print }' "$0"; exit 0 ;;
        *) echo "variants.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

if [ -z "${FLAGLESS:-}" ]; then
    echo "==> building nnbench (release, no flags) in .build-flagless" >&2
    swift build -c release --product nnbench --scratch-path .build-flagless >&2
    FLAGLESS=.build-flagless/release/nnbench
fi
if [ -z "${FLAGGED:-}" ]; then
    echo "==> building nnbench (release, -target-cpu native) in .build-native" >&2
    swift build -c release --product nnbench --scratch-path .build-native -Xswiftc -target-cpu -Xswiftc native >&2
    FLAGGED=.build-native/release/nnbench
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--runs "$runs" --json)

IFS=',' read -ra thread_counts <<< "$threads_list"
for round in $(seq 1 "$rounds"); do
    for t in "${thread_counts[@]}"; do
        order=(flagless flagged)
        [ $((round % 2)) -eq 0 ] && order=(flagged flagless)
        for build in "${order[@]}"; do
            bin=$FLAGLESS; [ "$build" = flagged ] && bin=$FLAGGED
            echo "==> round $round, $t thread(s), $build: gemm 1024, train $batches (native)" >&2
            "$bin" gemm --sizes 1024 --no-mlp --backend native --threads "$t" "${common[@]}" \
                > "$work/r$round-t$t-$build-gemm.json" 2>/dev/null
            "$bin" train --batches "$batches" --backend native --threads "$t" "${common[@]}" \
                > "$work/r$round-t$t-$build-train.json" 2>/dev/null
        done
        # Native and OpenCL side by side in one process (the ratio of record for native vs PoCL). Kept
        # apart from the flagless/flagged runs: PoCL's worker threads live in the process once the
        # OpenCL backend exists, which would tax the native figure of one build and not the other.
        echo "==> round $round, $t thread(s), flagless: train $batches (native, opencl)" >&2
        "$FLAGLESS" train --batches "$batches" --backend native,opencl --threads "$t" "${common[@]}" \
            > "$work/r$round-t$t-sidebyside-train.json" 2>/dev/null
    done
done

python3 - "$work" "$rounds" "$threads_list" <<'PY'
import glob, json, os, statistics, sys

work, rounds, threads = sys.argv[1], int(sys.argv[2]), [int(t) for t in sys.argv[3].split(",")]

def medians(path):
    report = json.load(open(path))
    out = {}
    for row in report["rows"]:
        for r in row["results"]:
            if r.get("figure"):
                out[(row["name"], r["backend"])] = r["figure"]["median"]
    devices = {b["name"]: b["device"] for b in report["backends"]}
    return out, devices

def spread(values):
    return f"{statistics.median(values):,.1f} [{min(values):,.1f}–{max(values):,.1f}]" if values else "–"

devices_seen = {}
print(f"medians over {rounds} round(s) of each round's nnbench median, [min–max] across rounds; ratios within rounds\n")
for t in threads:
    rows = {}
    for r in range(1, rounds + 1):
        figs = {}
        for build in ("flagless", "flagged", "sidebyside"):
            for suite in ("gemm", "train"):
                path = os.path.join(work, f"r{r}-t{t}-{build}-{suite}.json")
                if not os.path.exists(path):
                    continue
                m, d = medians(path)
                for name, dev in d.items():
                    devices_seen[f"{build} {name}"] = dev
                for (case, backend), v in m.items():
                    figs[(case, backend, build)] = v
        for case in sorted({k[0] for k in figs}):
            entry = rows.setdefault(case, {"flagless": [], "flagged": [], "native1": [], "opencl": [], "fl/fg": [], "nat/ocl": []})
            a, b = figs.get((case, "native", "flagless")), figs.get((case, "native", "flagged"))
            n1, o = figs.get((case, "native", "sidebyside")), figs.get((case, "opencl", "sidebyside"))
            for key, value in (("flagless", a), ("flagged", b), ("native1", n1), ("opencl", o)):
                if value is not None: entry[key].append(value)
            if a and b: entry["fl/fg"].append(a / b)
            if n1 and o: entry["nat/ocl"].append(n1 / o)
    print(f"{t} thread(s)")
    print(f"  {'case':34} {'native flagless':>24} {'native flagged':>24} {'flagless/flagged':>19} "
          f"{'native (beside PoCL)':>24} {'opencl (PoCL)':>24} {'native/opencl':>19}")
    for case, e in rows.items():
        ratio = lambda v: f"{statistics.median(v):.2f} [{min(v):.2f}–{max(v):.2f}]" if v else "–"
        label = case.replace("MLP 784-512-256-10 BN ReLU Adam, ", "train ").replace("  C = A·B", " gemm")
        print(f"  {label[:34]:34} {spread(e['flagless']):>24} {spread(e['flagged']):>24} {ratio(e['fl/fg']):>19} "
              f"{spread(e['native1']):>24} {spread(e['opencl']):>24} {ratio(e['nat/ocl']):>19}")
    print()
for k, v in sorted(devices_seen.items()):
    print(f"  {k}: {v}")
PY
