#!/usr/bin/env bash
# Packs nn and nnbench for a host without a Swift toolchain (typically a GPU host) into
# dist/swiftnn-<version>-linux-x86_64.tar.xz.
#
#   bash scripts/bundle.sh [--with-icd-loader] [--with-data fashion-mnist] [--with-mpi] [--with-dashboard] [--version V]
#
# - Release build with the Swift standard library and Foundation linked statically
#   (--static-swift-stdlib), in its own scratch folder (dist/.scratch) so the everyday build stays;
#   not a .build* folder, where the Python tests look for the nn to test.
#   No -target-cpu flag: the native backend picks its AVX2/AVX-512 kernels at run time, so one
#   binary runs on any x86-64 host at its best speed.
# - Without the MPI trait unless --with-mpi: a GPU host rarely has Open MPI, and libmpi pulls in a
#   dozen more libraries. (`nn train` then runs single-process; mpirun needs --with-mpi.)
# - The libraries nn links that a bare Linux host may lack (libsqlite3, libpq and what libpq needs)
#   go into lib/, found through an RPATH of $ORIGIN/lib (DT_RPATH, which also serves their own
#   dependencies). glibc, libstdc++, libgcc_s and zlib are left to the host (every distribution has
#   them, and a copy of libstdc++ older than the host's could break the GPU vendor's OpenCL driver,
#   which is loaded into the same process); so is libOpenCL.so.1, the ICD loader, unless
#   --with-icd-loader copies this machine's.
# - Benchmarks/gpu.sh and torch_reference.py always go in: the GPU comparison runs where the GPU is.
# - --with-data fashion-mnist copies the four IDX .gz files to data/fashion-mnist (NN_DATA_DIR=data).
# - --with-dashboard adds nn-dashboard (what `nn dashboard` starts). Its web server links Foundation's
#   networking, so linking it statically needs libcurl's development files (apt-get install
#   libcurl4-openssl-dev), and libcurl with its libraries goes into lib/ (about 16 MB more).
#
# Needs: swift, strip (binutils), xz, ldd. Run from anywhere; the result's path is printed last.
set -euo pipefail
cd "$(dirname "$0")/.."

with_icd=0 with_mpi=0 with_dashboard=0 data="" version=""
while [ $# -gt 0 ]; do
  case "$1" in
    --with-icd-loader) with_icd=1 ;;
    --with-mpi) with_mpi=1 ;;
    --with-dashboard) with_dashboard=1 ;;
    --with-data)
      [ $# -ge 2 ] || { echo "bundle.sh: --with-data needs a data set name (fashion-mnist)" >&2; exit 2; }
      data="$2"; shift ;;
    --version)
      [ $# -ge 2 ] || { echo "bundle.sh: --version needs a value" >&2; exit 2; }
      version="$2"; shift ;;
    -h|--help) awk 'NR > 1 { if (!/^#/) exit; print }' "$0"; exit 0 ;;
    *) echo "bundle.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$data" ] && [ "$data" != fashion-mnist ]; then
  echo "bundle.sh: --with-data knows only fashion-mnist (got '$data')" >&2; exit 2
fi
[ "$(uname -m)" = x86_64 ] || { echo "bundle.sh: builds linux-x86_64 bundles only (this is $(uname -m))" >&2; exit 2; }
for tool in swift strip xz ldd; do
  command -v "$tool" >/dev/null || { echo "bundle.sh: '$tool' not found" >&2; exit 2; }
done
# ldconfig's list in full first: under pipefail, grep -q closing the pipe early would fail the test.
if [ "$with_dashboard" = 1 ] && ! awk '$1 == "libcurl.so" { found = 1 } END { exit !found }' <<<"$(ldconfig -p)"; then
  echo "bundle.sh: --with-dashboard needs libcurl's development files (the dashboard's web server links Foundation's" \
       "networking, which calls libcurl): apt-get install libcurl4-openssl-dev" >&2
  exit 2
fi
# The version names the tarball: a tag if there is one, else the commit (marked when the tree differs).
[ -n "$version" ] || version=$(git describe --tags --always --dirty 2>/dev/null || echo unknown)

name="swiftnn-$version-linux-x86_64"
dist=dist
stage="$dist/$name"
scratch=$dist/.scratch

build_args=(-c release --static-swift-stdlib --scratch-path "$scratch"
            -Xlinker -rpath -Xlinker '$ORIGIN/lib' -Xlinker --disable-new-dtags)
[ "$with_mpi" = 1 ] || build_args+=(--disable-default-traits)
products=(nn nnbench)
[ "$with_dashboard" = 1 ] && products+=(nn-dashboard)
for product in "${products[@]}"; do
  echo "bundle.sh: building $product (release, static Swift runtime)…"
  swift build "${build_args[@]}" --product "$product"
done
bin=$(swift build "${build_args[@]}" --show-bin-path)

rm -rf "$stage"
mkdir -p "$stage/lib"
for product in "${products[@]}"; do
  cp "$bin/$product" "$stage/$product"
  strip "$stage/$product"
  # ldd's output in full first: under pipefail, grep -q closing the pipe early would fail the test.
  linked=$(ldd "$stage/$product" | awk '{ print $1 }')
  if grep -E '^(libswift|libFoundation|libdispatch|libBlocksRuntime)' <<<"$linked" >&2; then
    echo "bundle.sh: $product still links the Swift runtime libraries above dynamically" >&2
    exit 1
  fi
done

# Libraries the host provides (or, for the ICD loader, is told to provide): everything else that the
# binaries load is copied.
host_provided='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libresolv|libstdc\+\+|libgcc_s|libz)\.so'
[ "$with_icd" = 1 ] || host_provided="${host_provided%)*}|libOpenCL)\\.so"
ldd "${products[@]/#/$stage/}" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u |
  while read -r soname path; do
    if ! [[ "$soname" =~ $host_provided ]]; then
      cp -L "$path" "$stage/lib/$soname"
    fi
  done

if [ "$data" = fashion-mnist ]; then
  source_dir=${NN_DATA_DIR:+$NN_DATA_DIR/fashion-mnist}
  [ -n "$source_dir" ] && [ -f "$source_dir/train-images-idx3-ubyte.gz" ] || source_dir=/usr/share/datasets/fashion-mnist
  mkdir -p "$stage/data/fashion-mnist"
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -f "$source_dir/$f.gz" ] || { echo "bundle.sh: $source_dir/$f.gz missing (apt-get install dataset-fashion-mnist)" >&2; exit 1; }
    cp "$source_dir/$f.gz" "$stage/data/fashion-mnist/"
  done
fi

# The GPU comparison (Benchmarks/gpu.sh, which uses the nnbench beside it, and its PyTorch half): a GPU
# host without Swift is where it is run.
mkdir -p "$stage/Benchmarks"
cp Benchmarks/gpu.sh Benchmarks/torch_reference.py "$stage/Benchmarks/"

icd_note="not included: install the host's ICD loader (Debian/Ubuntu: apt-get install ocl-icd-libopencl1)"
[ "$with_icd" = 1 ] && icd_note="included as lib/libOpenCL.so.1 (ocl-icd, copied from the build machine)"
data_note="not included: set NN_DATA_DIR to a folder holding fashion-mnist/ (the four IDX .gz files), or install dataset-fashion-mnist"
[ "$data" = fashion-mnist ] && data_note="included in data/fashion-mnist: run with NN_DATA_DIR=\"\$PWD/data\""
mpi_note="built without MPI (single-process training); rebuild with --with-mpi for mpirun"
[ "$with_mpi" = 1 ] && mpi_note="built with MPI: the host needs Open MPI's libmpi.so.40 (apt-get install openmpi-bin)"

listed=$(printf '`%s`, ' "${products[@]}")
listed=$(sed 's/\(.*\), /\1 and /' <<<"${listed%, }")
dashboard_line=""
[ "$with_dashboard" = 1 ] && dashboard_line=$'    ./nn dashboard --root runs     # watch runs in the browser (over SSH: ssh -L 8080:localhost:8080 HOST)\n'

cat > "$stage/README-BUNDLE.md" <<EOF
# SwiftNN $version for linux-x86_64, without a Swift toolchain

$listed with the Swift runtime linked in. They need glibc $(ldd --version | head -1 | awk '{print $NF}') or newer,
libstdc++, zlib, an OpenCL ICD loader (libOpenCL.so.1) and a device driver for the OpenCL backend;
lib/ holds the other libraries they link (found through an RPATH, no LD_LIBRARY_PATH needed).

- OpenCL ICD loader: $icd_note.
- Data: $data_note.
- MPI: $mpi_note.

## First steps

    ./nn devices                   # OpenCL platforms and devices, and the native backend
    ./nn devices --check           # the conformance suite on every device: exits non-zero on any failure
    ./nn train --data fashion-mnist --backend opencl --out runs/fmnist
    ./nnbench softmax --backend opencl
    Benchmarks/gpu.sh --out gpu-results   # beside cuBLAS and PyTorch (needs PyTorch with CUDA; about 10 minutes)
$dashboard_line
## An NVIDIA GPU whose driver registered no ICD

The loader finds drivers through .icd files in /etc/OpenCL/vendors. When the NVIDIA driver is
installed without one (common in containers: libnvidia-opencl.so.1 present, \`nn devices\` lists no
NVIDIA platform), point the loader at it:

    mkdir -p ~/ocl-icd && echo /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 > ~/ocl-icd/nvidia.icd
    export OCL_ICD_VENDORS=~/ocl-icd     # use the path where libnvidia-opencl.so.1 really is
    ./nn devices

(In some containers the library is in /usr/local/nvidia/lib64; \`ldconfig -p | grep nvidia-opencl\` finds it.)
\`NN_OPENCL_DEVICE\` picks a device by index or name when there are several; \`nn devices --check\`
verifies the one you will use.
EOF

mkdir -p "$dist"
tarball="$dist/$name.tar.xz"
# -9: its 64 MiB window spans both binaries, which share most of their code (the statically linked
# Swift runtime and Foundation), so the second costs little: 23 MB instead of 36 MB at -6, about a
# minute of compression.
echo "bundle.sh: compressing (xz -9)…"
tar -C "$dist" -cf - "$name" | xz -T0 -9 > "$tarball"
rm -rf "$stage"
echo "bundle.sh: $(du -h "$tarball" | cut -f1) $tarball"
