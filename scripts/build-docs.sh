#!/usr/bin/env bash
# Builds the DocC documentation of every library product into one combined archive (default
# .build/docs), and fails on any DocC warning: a broken ``Symbol`` or <doc:Article> link, an
# ambiguous one, a parameter documented under a name the function does not have.
#
# The swift-docc-plugin is a dependency of the package only while SWIFTNN_DOCS=1 (see Package.swift),
# so packages that depend on SwiftNN never resolve it. DocC resolves links inside one module only:
# name a type of another module in code voice (`NNError.invalidData`), not as a ``link``.
#
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.build/docs}"
targets=(NNCore NNNative NNOpenCL NNBackends NNConformance NNDistributed NNTrain NNData NNTune)
args=()
for target in "${targets[@]}"; do args+=(--target "$target"); done
mkdir -p "$out"
SWIFTNN_DOCS=1 swift package --allow-writing-to-directory "$out" generate-documentation "${args[@]}" \
  --enable-experimental-combined-documentation --output-path "$out" --warnings-as-errors
