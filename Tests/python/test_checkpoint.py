"""Checks nn's checkpoints from the outside, with NumPy and safetensors only (no PyTorch needed).

It trains a small model with the real `nn` binary, then verifies that model.safetensors is exactly
the state dict PyTorch's `nn.Sequential` would have (names, shapes, dtypes), so that
`load_state_dict(strict=True)` accepts it; that the metadata carries the architecture and the input
normaliser; that optimiser state lives in the separate training-state file; and that a NumPy
re-implementation of the forward pass reproduces `nn eval --predictions`.

Run:  swift build --product nn && .venv/bin/python -m pytest -q Tests/python   (.venv: bash scripts/install-deps.sh)
The binary is $NN_BIN, else the newest of .build*/{debug,release}/nn. A missing binary is a failure.
"""
import csv
import glob
import json
import os
import re
import subprocess
import tempfile
import unittest

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIGITS = os.path.join(ROOT, "Tests", "Fixtures", "digits.csv")


def nn_binary():
    if os.environ.get("NN_BIN"):
        return os.environ["NN_BIN"]
    candidates = glob.glob(os.path.join(ROOT, ".build*", "debug", "nn")) + glob.glob(os.path.join(ROOT, ".build*", "release", "nn"))
    candidates = [c for c in candidates if os.access(c, os.X_OK)]
    if not candidates:
        raise AssertionError("no nn binary found; build it with `swift build --product nn` or set NN_BIN")
    return max(candidates, key=os.path.getmtime)


def run_nn(*args):
    env = dict(os.environ, NN_BACKEND="native")
    result = subprocess.run([nn_binary(), *args], capture_output=True, text=True, env=env, timeout=600)
    if result.returncode != 0:
        raise AssertionError(f"nn {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def pytorch_state_dict_shapes(module_source):
    """The state_dict keys and shapes PyTorch gives the nn.Sequential printed in `pytorch_module`,
    following torch's rules: Linear has weight [out, in] and bias [out] unless bias=False; BatchNorm1d has
    weight, bias, running_mean, running_var [n] and num_batches_tracked []; ReLU/Tanh/Sigmoid/Dropout none."""
    lines = [l.strip().rstrip(",") for l in module_source.splitlines()[1:-1]]
    shapes = {}
    for index, line in enumerate(lines):
        if m := re.fullmatch(r"nn\.Linear\((\d+), (\d+)(, bias=False)?\)", line):
            n_in, n_out, no_bias = int(m[1]), int(m[2]), m[3] is not None
            shapes[f"{index}.weight"] = (n_out, n_in)
            if not no_bias:
                shapes[f"{index}.bias"] = (n_out,)
        elif m := re.fullmatch(r"nn\.BatchNorm1d\((\d+), eps=([0-9.e-]+), momentum=([0-9.e-]+)\)", line):
            n = int(m[1])
            for name in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"{index}.{name}"] = (n,)
            shapes[f"{index}.num_batches_tracked"] = ()
        elif not re.fullmatch(r"nn\.(ReLU|Tanh|Sigmoid)\(\)|nn\.Dropout\(p=[0-9.e-]+\)", line):
            raise AssertionError(f"unexpected module line {line!r}")
    return shapes, lines


def forward(model, spec, normalizer, x):
    """Evaluation-mode forward pass of the saved Sequential in float64, then softmax."""
    h = (x - np.array(normalizer["mean"])) / np.array(normalizer["standardDeviation"])
    for index, layer in enumerate(spec["layers"]):
        kind, params = next(iter(layer.items()))
        if kind == "dense":
            h = h @ model[f"{index}.weight"].astype(np.float64).T
            if f"{index}.bias" in model:
                h = h + model[f"{index}.bias"]
        elif kind == "batchNorm":
            eps = params["epsilon"]
            mean, var = model[f"{index}.running_mean"], model[f"{index}.running_var"]
            h = (h - mean) / np.sqrt(var.astype(np.float64) + eps) * model[f"{index}.weight"] + model[f"{index}.bias"]
        elif kind == "activation":
            name = params["_0"]
            h = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[name](h)
        elif kind == "dropout":
            pass  # identity in evaluation mode
        else:
            raise AssertionError(f"unknown layer {layer}")
    h = h - h.max(axis=1, keepdims=True)
    e = np.exp(h)
    return e / e.sum(axis=1, keepdims=True)


class CheckpointFromOutside(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="nn-python-test-")
        cls.out = os.path.join(cls.tmp.name, "run")
        cls.summary = json.loads(run_nn(
            "train", "--data", "digits", "--layers", "24,12", "--dropout", "0.9", "--activation", "tanh",
            "--epochs", "2", "--batch", "64", "--seed", "3", "--out", cls.out, "--json", "--no-progress").splitlines()[-1])
        cls.best = os.path.join(cls.out, "best")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_run_folder_layout_and_json_line(self):
        for name in ("metrics.jsonl", "learning-curve.svg", "summary.json", "epoch-001/model.safetensors",
                     "epoch-002/training-state.safetensors", "best/model.safetensors"):
            self.assertTrue(os.path.exists(os.path.join(self.out, name)), name)
        for key in ("backend", "device", "epochs", "train_accuracy", "dev_accuracy", "test_accuracy",
                    "samples_per_second", "wall_seconds"):
            self.assertIn(key, self.summary)
        self.assertEqual(self.summary["epochs"], 2)
        self.assertEqual(self.summary["backend"], "native")
        with open(os.path.join(self.out, "metrics.jsonl")) as f:
            epochs = [json.loads(line) for line in f]
        self.assertEqual([e["epoch"] for e in epochs], [1, 2])

    def test_state_dict_is_exactly_what_pytorch_sequential_expects(self):
        with safe_open(os.path.join(self.best, "model.safetensors"), "np") as f:
            metadata = f.metadata()
            keys = set(f.keys())
        expected, lines = pytorch_state_dict_shapes(metadata["pytorch_module"])
        self.assertEqual(lines[0], "nn.Linear(64, 24, bias=False)")
        self.assertEqual(lines[1], "nn.BatchNorm1d(24, eps=1e-05, momentum=0.1)")
        self.assertEqual(lines[3], "nn.Dropout(p=0.1)")
        self.assertEqual(keys, set(expected), "strict loading needs exactly these keys, no more, no fewer")
        model = load_file(os.path.join(self.best, "model.safetensors"))
        for name, shape in expected.items():
            self.assertEqual(model[name].shape, shape, name)
            wanted = np.int64 if name.endswith("num_batches_tracked") else np.float32
            self.assertEqual(model[name].dtype, wanted, name)
        # 1,437 digits samples minus a 10 % dev split leave 1,293; batch 64 gives 21 steps per epoch.
        self.assertEqual(int(model["1.num_batches_tracked"]), 2 * 21)
        self.assertTrue(np.all(model["1.running_var"] > 0))

    def test_metadata_carries_architecture_and_normaliser(self):
        with safe_open(os.path.join(self.best, "model.safetensors"), "np") as f:
            metadata = f.metadata()
        self.assertEqual(metadata["format"], "swiftnn.model")
        spec = json.loads(metadata["network_spec"])
        self.assertEqual(spec["inputWidth"], 64)
        self.assertEqual(spec["classes"], 10)
        normalizer = json.loads(metadata["input_normalizer"])
        self.assertEqual(len(normalizer["mean"]), 64)
        self.assertTrue(all(s > 0 for s in normalizer["standardDeviation"]))

    def test_training_state_is_separate(self):
        path = os.path.join(self.best, "training-state.safetensors")
        with safe_open(path, "np") as f:
            metadata = f.metadata()
            keys = set(f.keys())
        self.assertTrue(keys)
        self.assertTrue(all(k.startswith("optimizer.") for k in keys), keys)
        self.assertIn("optimizer.0.weight.m", keys)
        self.assertIn("optimizer.0.weight.v", keys)
        state = json.loads(metadata["training_state"])
        self.assertEqual(state["epoch"], 2)
        self.assertEqual(state["globalStep"], 42)
        model = load_file(os.path.join(self.best, "model.safetensors"))
        optimizer = load_file(path)
        self.assertEqual(optimizer["optimizer.0.weight.m"].shape, model["0.weight"].shape)

    def test_numpy_forward_pass_reproduces_nn_eval_predictions(self):
        rows = np.loadtxt(DIGITS, delimiter=",")[:200]
        sample_csv = os.path.join(self.tmp.name, "sample.csv")
        np.savetxt(sample_csv, rows, delimiter=",", fmt="%d")
        predictions_csv = os.path.join(self.tmp.name, "predictions.csv")
        run_nn("eval", "--model", self.best, "--data", sample_csv, "--split", "train", "--predictions", predictions_csv)
        with open(predictions_csv) as f:
            reader = csv.reader(f)
            header = next(reader)
            table = np.array([[float(v) for v in row] for row in reader])
        self.assertEqual(header[:3], ["label", "predicted", "p0"])
        self.assertEqual(table.shape, (200, 12))
        np.testing.assert_array_equal(table[:, 0], rows[:, -1])

        model = load_file(os.path.join(self.best, "model.safetensors"))
        with safe_open(os.path.join(self.best, "model.safetensors"), "np") as f:
            metadata = f.metadata()
        ours = forward(model, json.loads(metadata["network_spec"]), json.loads(metadata["input_normalizer"]), rows[:, :-1])
        # nn computes in float32 (dot products of at most 64 terms, unit rounding 6e-8): logits agree to
        # ~1e-5 relative, and softmax's derivative is bounded by 1/2, so probabilities agree within 2e-5.
        np.testing.assert_allclose(table[:, 2:], ours, atol=2e-5, rtol=0)
        np.testing.assert_allclose(table[:, 2:].sum(axis=1), 1, atol=1e-5)
        decided = np.sort(ours, axis=1)[:, -1] - np.sort(ours, axis=1)[:, -2] > 1e-4  # skip near-ties
        np.testing.assert_array_equal(table[decided, 1], ours[decided].argmax(axis=1))


if __name__ == "__main__":
    unittest.main()
