#!/usr/bin/env bash
# SwiftNN's OpenCL backend on an NVIDIA GPU beside cuBLAS and PyTorch on the same GPU, in one run.
#
#   Benchmarks/gpu.sh [--runs N] [--quick] [--out DIR]
#
# Needs PyTorch with CUDA (`python3 -c 'import torch; torch.cuda.is_available()'` true; PYTHON=...
# picks another interpreter). Without it the script says why and exits 3: there is no fallback to
# quoted figures, so a table it prints was always measured here, now.
#
# Figures, each the median of N runs (default 7), FP32 with TF32 off on the PyTorch side:
# - SGEMM 2048³ and 4096³ and the batch-256 MLP forward shapes (256×784)·(784×512), (256×512)·(512×256):
#   `nnbench gemm` against torch.matmul (cuBLAS);
# - softmax rows 4096×1000 and BatchNorm1d training forward 4096×1024, GB/s (read x + write y):
#   `nnbench softmax` / `nnbench batchnorm` against PyTorch eager;
# - training steps (forward, cross-entropy, backward, Adam) of the MLP 784-512-256-10 with batch norm
#   at batches 128, 512 and 4096, and of the wide 784-4096-4096-10 at 4096, samples/s: `nnbench train`
#   against PyTorch eager and a captured CUDA graph of the whole step.
# The table shows each ratio next to the goal issue 10 set for it.
#
# NNBENCH=/path/to/nnbench skips the build; in an unpacked scripts/bundle.sh tarball (which holds this
# script) the bundle's nnbench is used; otherwise `swift build -c release --product nnbench`.
# NN_OPENCL_DEVICE picks the GPU when OpenCL lists several devices.
# --quick: one GEMM, the two ops and one MLP, to check the set-up.
# --out DIR keeps the raw results (nnbench JSON, PyTorch JSON lines) there; by default a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=7 quick=0 out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) [ $# -ge 2 ] || { echo "gpu.sh: --runs needs a number" >&2; exit 2; }; runs="$2"; shift 2 ;;
        --quick) quick=1; shift ;;
        --out) [ $# -ge 2 ] || { echo "gpu.sh: --out needs a folder" >&2; exit 2; }; out="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 { if (!/^#/) exit; print }' "$0"; exit 0 ;;
        *) echo "gpu.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$runs" =~ ^[0-9]+$ ]] && [ "$runs" -ge 5 ] || { echo "gpu.sh: --runs must be a whole number ≥ 5 (nnbench's minimum)" >&2; exit 2; }

python=${PYTHON:-python3}
helper=Benchmarks/torch_reference.py
# First, before any build: without CUDA PyTorch nothing here can be compared.
if ! "$python" "$helper" check --device cuda; then
    echo "gpu.sh: needs PyTorch with CUDA on an NVIDIA GPU; not comparing." >&2
    exit 3
fi

if [ -z "${NNBENCH:-}" ] && [ ! -f Package.swift ] && [ -x nnbench ]; then
    NNBENCH="$PWD/nnbench"   # an unpacked scripts/bundle.sh tarball: its nnbench, no Swift to build with
fi
if [ -z "${NNBENCH:-}" ]; then
    echo "==> building nnbench (release)" >&2
    swift build -c release --product nnbench >&2
    NNBENCH="$(swift build -c release --show-bin-path)/nnbench"
fi

if [ -n "$out" ]; then mkdir -p "$out"; work="$out"; else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
common=(--backend opencl --json --runs "$runs")

echo "==> nnbench ($NNBENCH)" >&2
if [ "$quick" = 1 ]; then
    "$NNBENCH" gemm "${common[@]}" --sizes 2048 --no-mlp > "$work/gemm.json"
    "$NNBENCH" train "${common[@]}" --batches 128 > "$work/train.json"
else
    "$NNBENCH" gemm "${common[@]}" --sizes 2048,4096 > "$work/gemm.json"
    "$NNBENCH" train "${common[@]}" --batches 128,512,4096 > "$work/train.json"
    "$NNBENCH" train "${common[@]}" --hidden 4096,4096 --batches 4096 > "$work/train-wide.json"
fi
"$NNBENCH" softmax "${common[@]}" > "$work/softmax.json"
"$NNBENCH" batchnorm "${common[@]}" > "$work/batchnorm.json"

echo "==> PyTorch / cuBLAS" >&2
quick_flag=()
[ "$quick" = 1 ] && quick_flag=(--quick)
# Runs fewer than nnbench's would not be comparable medians; the same count on both sides.
"$python" "$helper" measure --device cuda --runs "$runs" "${quick_flag[@]}" > "$work/torch.jsonl"

echo
"$python" "$helper" table "$work/torch.jsonl" "$work"/*.json
