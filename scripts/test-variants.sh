#!/usr/bin/env bash
# Runs the native conformance suite and the kernel-variant tests once per kernel variant this CPU
# supports (NN_NATIVE_ISA=baseline, avx2, avx512), since the process's variant is fixed at start.
#
#   scripts/test-variants.sh [extra swift test arguments, e.g. --skip-build]
#
# Exits non-zero if any variant's run fails. A variant the CPU lacks is not run (NNNative would
# refuse it); the list comes from /proc/cpuinfo, as the kernels' own CPUID check decides the same.
set -euo pipefail
cd "$(dirname "$0")/.."

flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
variants=(baseline)
if [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* ]]; then variants+=(avx2); fi
if [[ " $flags " == *" avx512f "* ]]; then variants+=(avx512); fi

status=0
for isa in "${variants[@]}"; do
    echo "==> NN_NATIVE_ISA=$isa" >&2
    if ! NN_NATIVE_ISA="$isa" swift test "$@" --filter "ConformanceTests|KernelVariantReproducibilityTests|BackendAgreementTests|ReproducibilityTests"; then
        echo "==> NN_NATIVE_ISA=$isa failed" >&2
        status=1
    fi
done
exit $status
