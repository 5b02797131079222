#!/usr/bin/env bash
# The OpenCL kernels under Oclgrind (apt: oclgrind), a simulator that reports what a GPU punishes and
# PoCL hides: data races in local and global memory (a missing barrier), out-of-bounds reads and
# writes, barriers reached by only part of a work-group, and OpenCL API misuse. PoCL runs a
# work-group's items one after another in a fixed order, so a kernel with a race can pass every
# conformance case there and still return garbage on a GPU; Oclgrind interleaves the items and checks
# every access.
#
# Oclgrind reports itself as a GPU, so the backend runs what a GPU runs: the GPU kernel shapes and the
# tiled GEMM family. Its local memory is raised to 48 KiB, NVIDIA's per-work-group limit, so that the
# built-in GPU GEMM defaults are the ones an NVIDIA GPU gets. Checked, on the debug build in BUILD_DIR
# (default .build/debug; `swift build --build-tests` first):
#   1. `nn devices --check --backend opencl`: every conformance case, both GEMM defaults' skinny path;
#      and the algebra cases on a simulated small GPU (128-item work-groups, 32 KiB), which gets the
#      GEMM fallbacks;
#   2. the GEMM tests that force tunings (Tests/ConformanceTests): the algebra cases on the square
#      default and the fallbacks of smaller devices, the bias + ReLU epilogue on every representative
#      tuning of the tuner's space, and the CPU drivers' vector family with its packing kernels;
#   3. one epoch of `nn train` on the digits (the trainer's op sequence), whose metrics must equal
#      PoCL's in the GPU shapes.
# Any Oclgrind diagnostic fails the script, as does a failing case.
# The CPU kernel shapes are not run here (three more minutes; NN_OPENCL_KERNEL_SHAPES=cpu on the first
# step does it): they keep one work-item per row or column block and are checked on PoCL, the driver
# that runs them. Oclgrind's --uninitialized check is not used: version 21.10 takes memory set by
# clEnqueueFillBuffer for uninitialised (every zeroed tensor) and crashes in that plugin on the
# softmax kernels. (Run once by hand with tensors zeroed through clEnqueueWriteBuffer instead, it
# found no uninitialised read in the other 36 cases.)
# Takes about 7 minutes on 2 cores; Oclgrind interprets every work-item.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-.build/debug}"

command -v oclgrind >/dev/null || { echo "oclgrind is not installed: apt-get install oclgrind (scripts/install-deps.sh does)"; exit 2; }
for f in "$BUILD_DIR/nn" "$BUILD_DIR/SwiftNNPackageTests.xctest"; do
  [ -x "$f" ] || { echo "$f is missing: run swift build --build-tests first"; exit 2; }
done

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
failed=0

# The simulated device: NVIDIA's 48 KiB of local memory per work-group (and Oclgrind's 1024 items).
NVIDIA_LIKE="--local-mem-size 49152"
# A small GPU, as mobile ones are: 32 KiB of local memory and work-groups of at most 128 items.
SMALL_GPU="--local-mem-size 32768 --max-wgsize 128"

# check NAME "DEVICE OPTIONS" COMMAND...: runs COMMAND under Oclgrind; fails when it fails or Oclgrind
# logged anything.
check() {
  local name="$1" device="$2"; shift 2
  local log="$logs/$name.log" start
  start=$(date +%s)
  echo "==> oclgrind: $name"
  # shellcheck disable=SC2086  # the device options are words
  if ! oclgrind --data-races --check-api $device --log "$log" "$@" > "$logs/$name.out" 2>&1; then
    tail -n 30 "$logs/$name.out"
    echo "FAILED: $name exited non-zero"
    failed=1
  fi
  if [ -s "$log" ]; then
    echo "FAILED: Oclgrind reported $(grep -c 'Kernel:' "$log" || true) problems in $name; the first:"
    head -n 40 "$log"
    failed=1
  fi
  echo "    ($(( $(date +%s) - start )) s)"
}

check conformance "$NVIDIA_LIKE" "$BUILD_DIR/nn" devices --check --backend opencl
# On the small GPU the GEMM defaults (256 items) give way to the 64-item fallbacks, and the
# memory-bound kernels to the CPU shapes (their GPU shapes need 256 items).
check small-gpu "$SMALL_GPU" "$BUILD_DIR/nn" devices --check --backend opencl --cases algebra
# shellcheck disable=SC2086
listing="$(oclgrind $SMALL_GPU "$BUILD_DIR/nn" devices 2>&1 || true)"
if ! grep -q "auto picks: opencl .*GEMM tiled(MWG=64, NWG=64, KWG=16, MDIMC=8, NDIMC=8," <<< "$listing"; then
  echo "$listing"
  echo "FAILED: the small GPU did not get the 64-item GEMM fallback"
  failed=1
fi

# testRepresentativeTuningsMatchTheReference (every representative tuning on 56 products up to
# 1000 x 129 x 7) is left out: it takes over 15 minutes under Oclgrind. The epilogue test runs every
# representative tuning too, with and without split K, on three smaller shapes.
for test in GemmTiledTests/testAlgebraConformanceOnTiledTunings GemmTiledTests/testBiasReLUEpilogueOnRepresentativeTunings \
            OpenCLSmokeTests/testGemmBothFamiliesAllTransposesAndEdges; do
  # XCTest on Linux takes one test per run, and runs none (exit 0) for a name it does not know.
  name="${test#*/}"
  check "$name" "$NVIDIA_LIKE" "$BUILD_DIR/SwiftNNPackageTests.xctest" "ConformanceTests.$test"
  grep -q "Executed 1 test, with 0 failures" "$logs/$name.out" || { echo "FAILED: $test did not run and pass"; failed=1; }
done

# A short training run: the trainer's own sequence of ops (dense layers with the fused bias + ReLU
# epilogue, batch norm + ReLU, dropout, softmax cross-entropy, Adam), with tensors reused across steps.
# Oclgrind and PoCL compile the same source with clang and every kernel sums in a fixed order, so the
# epoch's printed metrics must match PoCL's in the GPU shapes exactly.
train=(train --data Tests/Fixtures/digits.csv --layers 32,16 --batchnorm --dropout 0.9 --optimizer adam
       --epochs 1 --batch 128 --no-progress)
NN_BACKEND=opencl check training "$NVIDIA_LIKE" "$BUILD_DIR/nn" "${train[@]}" --out "$logs/oclgrind-run"
# Not under `set -e`'s abort: a failed PoCL run is reported below with its output, not silently.
if ! NN_BACKEND=opencl NN_OPENCL_KERNEL_SHAPES=gpu "$BUILD_DIR/nn" "${train[@]}" --out "$logs/pocl-run" > "$logs/pocl.out" 2>&1; then
  tail -n 30 "$logs/pocl.out"
  echo "FAILED: the same training on PoCL exited non-zero"
  failed=1
fi
simulated="$(grep -o 'train loss.*acc [0-9.]* %' "$logs/training.out" || true)"
pocl="$(grep -o 'train loss.*acc [0-9.]* %' "$logs/pocl.out" || true)"
if [ -z "$simulated" ] || [ "$simulated" != "$pocl" ]; then
  echo "FAILED: the training epoch differs: Oclgrind '$simulated', PoCL (GPU shapes) '$pocl'"
  failed=1
fi

if [ "$failed" != 0 ]; then
  echo "oclgrind: FAILED"
  exit 1
fi
echo "oclgrind: no races, out-of-bounds accesses, barrier divergence or API errors; every case passed"
