"""Loads nn's models into real PyTorch through `nn export --pytorch` and checks they predict what nn does.

It trains small models with the real `nn` binary on Tests/Fixtures/digits.csv (batch norm on, so
evaluation mode matters), writes `nn eval --predictions`, exports the model as a Python module,
imports it, and feeds it the same raw features: the arg-max must agree on every sample and every
probability within 1e-5. It also shows that leaving out `.eval()` or the input normaliser changes the
predictions, so these checks would catch a hand-off that forgot either.

PyTorch is required: without it every test here fails (never skips), naming the fix.
Run:  .venv/bin/python -m pytest -q Tests/python   (after bash scripts/install-deps.sh and swift build)
"""
import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

from test_checkpoint import DIGITS, run_nn

# Float32 on both sides, but summed in different orders (nn's blocked GEMM against torch's BLAS,
# its softmax against torch's), so a logit can differ by a few units in the last place of ~1e-7
# relative; softmax's derivative is bounded by 1/2, so probabilities differ by about 1e-7 (3.6e-7
# seen). 1e-5 leaves headroom for other CPUs' kernels while any real mistake (a missing normaliser,
# training-mode batch norm, a wrong layer) moves probabilities by 1e-2 or more.
TOLERANCE = 1e-5


def import_torch():
    try:
        import torch
    except ImportError as error:
        raise AssertionError(
            f"PyTorch is not importable by {sys.executable} ({error}). Run `bash scripts/install-deps.sh` "
            "(Debian's python3-torch and the .venv that sees it) and the tests with .venv/bin/python -m pytest") from None
    return torch


def import_file(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_predictions(path):
    """nn eval's CSV: label, predicted, then one probability column per class."""
    with open(path) as f:
        header = f.readline().strip().split(",")
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return header, table[:, 0].astype(int), table[:, 1].astype(int), table[:, 2:]


def train_evaluate_export(cls, data, module_name, *train_args):
    """Trains on `data` into cls.tmp, then sets cls.best (its best/ checkpoint), cls.predictions (nn eval's
    CSV for the same rows) and cls.exported (the module nn export wrote, imported)."""
    run = os.path.join(cls.tmp.name, "run")
    run_nn("train", "--data", data, *train_args, "--out", run, "--no-progress")
    cls.best = os.path.join(run, "best")
    cls.predictions = os.path.join(cls.tmp.name, "predictions.csv")
    run_nn("eval", "--model", cls.best, "--data", data, "--split", "train", "--predictions", cls.predictions)
    cls.module_path = os.path.join(cls.tmp.name, f"{module_name}.py")
    run_nn("export", "--model", cls.best, "--pytorch", cls.module_path)
    cls.exported = import_file(cls.module_path, module_name)


class ExportedModuleAgreesWithNN(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.torch = import_torch()
        cls.tmp = tempfile.TemporaryDirectory(prefix="nn-export-test-")
        cls.rows = np.loadtxt(DIGITS, delimiter=",")  # 64 pixel columns (0-16) then the label; no header
        cls.features = cls.rows[:, :-1].astype(np.float32)
        # --lr 0.01 gets a decided model (about 90 % on digits) in three short epochs.
        train_evaluate_export(cls, DIGITS, "digits_model", "--layers", "32,16", "--batchnorm", "--lr", "0.01",
                              "--epochs", "3", "--batch", "64", "--seed", "5")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def nn_probabilities(self):
        header, labels, predicted, p = read_predictions(self.predictions)
        self.assertEqual(header, ["label", "predicted"] + [f"p{i}" for i in range(10)])
        np.testing.assert_array_equal(labels, self.rows[:, -1], "nn eval must keep the file's row order")
        return predicted, p

    def assert_agrees(self, p_torch, predicted_nn, p_nn):
        ours = p_torch.argmax(axis=1)
        disagree = np.flatnonzero(ours != predicted_nn)
        top2 = np.sort(p_nn, axis=1)[:, -2:]
        self.assertEqual(len(disagree), 0, f"arg-max differs on {len(disagree)} of {len(ours)} samples, e.g. rows "
                         f"{disagree[:5].tolist()} (nn's top-2 margins there: {(top2[disagree[:5], 1] - top2[disagree[:5], 0]).tolist()})")
        delta = np.abs(p_torch - p_nn)
        self.assertLessEqual(delta.max(), TOLERANCE, f"max |p_torch - p_nn| = {delta.max():.3g} at row {delta.max(axis=1).argmax()}")
        print(f"\n{type(self).__name__}: arg-max agreement {100 * (1 - len(disagree) / len(ours)):.1f} % of {len(ours)}, "
              f"max |p_torch - p_nn| = {delta.max():.2e}", file=sys.stderr)

    def test_loaded_module_reproduces_nn_eval_predictions(self):
        predicted_nn, p_nn = self.nn_probabilities()
        model = self.exported.load(self.best)
        self.assertFalse(model.training, "load() must leave the module in evaluation mode")
        p_torch = self.exported.predict_proba(model, self.features).numpy()
        self.assertEqual(p_torch.dtype, np.float32)
        self.assertEqual(p_torch.shape, p_nn.shape)
        self.assert_agrees(p_torch, predicted_nn, p_nn)
        self.assertEqual(self.exported.CLASSES, [str(i) for i in range(10)])
        self.assertGreater((predicted_nn == self.rows[:, -1]).mean(), 0.8, "the model must be trained enough to have decided classes")

    def test_module_is_the_exact_state_dict_plus_normaliser_buffers(self):
        from safetensors.torch import load_file

        model = self.exported.load(os.path.join(self.best, "model.safetensors"))
        saved = load_file(os.path.join(self.best, "model.safetensors"))
        network = model.network.state_dict()
        self.assertEqual(set(network), set(saved))
        for name, tensor in saved.items():
            self.assertTrue(self.torch.equal(network[name], tensor), name)
        self.assertEqual(set(model.state_dict()) - {f"network.{name}" for name in saved}, {"mean", "std"})
        self.assertEqual(tuple(model.mean.shape), (64,))

    def test_skipping_eval_or_the_normaliser_changes_predictions(self):
        """The bugs the export prevents are visible at this tolerance, so the agreement test has teeth."""
        torch = self.torch
        from safetensors.torch import load_file

        _, p_nn = self.nn_probabilities()
        x = torch.as_tensor(self.features)
        weights = load_file(os.path.join(self.best, "model.safetensors"))

        # Strict loading but no .eval(): batch norm normalises each batch by its own statistics.
        # Predicting in batches of 16 (as a service would) makes them far from the running averages.
        training_mode = self.exported.build()
        training_mode.network.load_state_dict(weights, strict=True)
        self.assertTrue(training_mode.training)
        with torch.no_grad():
            p_train = torch.cat([self.exported.probabilities(training_mode(batch)) for batch in x.split(16)]).numpy()
        self.assertGreater(np.abs(p_train - p_nn).max(), 100 * TOLERANCE)

        # .eval() but raw 0-16 pixels into the network, without the normaliser.
        no_normaliser = self.exported.load(self.best)
        with torch.no_grad():
            p_raw = self.exported.probabilities(no_normaliser.network(x)).numpy()
        self.assertGreater(np.abs(p_raw - p_nn).max(), 100 * TOLERANCE)
        self.assertLess((p_raw.argmax(axis=1) == p_nn.argmax(axis=1)).mean(), 1.0)
        for name, p in (("without .eval()", p_train), ("without the normaliser", p_raw)):
            print(f"\n{name}: arg-max agreement {100 * (p.argmax(axis=1) == p_nn.argmax(axis=1)).mean():.1f} %, "
                  f"max |p_torch - p_nn| = {np.abs(p - p_nn).max():.2f}", file=sys.stderr)

    def test_command_line_prints_nn_eval_csv(self):
        result = subprocess.run([sys.executable, self.module_path, self.best, DIGITS], capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stderr)
        out = os.path.join(self.tmp.name, "torch-predictions.csv")
        with open(out, "w") as f:
            f.write(result.stdout)
        header, labels, predicted, p = read_predictions(out)
        nn_header, _, predicted_nn, p_nn = read_predictions(self.predictions)
        self.assertEqual(header, nn_header)
        np.testing.assert_array_equal(labels, self.rows[:, -1])
        np.testing.assert_array_equal(predicted, predicted_nn)
        np.testing.assert_allclose(p, p_nn, atol=TOLERANCE, rtol=0)

        usage = subprocess.run([sys.executable, self.module_path], capture_output=True, text=True, timeout=300)
        self.assertEqual(usage.returncode, 2)
        self.assertIn("usage:", usage.stderr)


class SigmoidHeadExport(unittest.TestCase):
    """A binary model with one output logit: predict_proba gives [1 - p, p] as nn's predictions CSV does."""

    @classmethod
    def setUpClass(cls):
        import_torch()
        cls.tmp = tempfile.TemporaryDirectory(prefix="nn-export-sigmoid-")
        rows = np.loadtxt(DIGITS, delimiter=",")
        cls.rows = rows[rows[:, -1] < 2]  # the 0s and 1s
        cls.data = os.path.join(cls.tmp.name, "zeros-and-ones.csv")
        np.savetxt(cls.data, cls.rows, delimiter=",", fmt="%d")
        train_evaluate_export(cls, cls.data, "binary_model", "--head", "sigmoid", "--layers", "8", "--batchnorm",
                              "--epochs", "2", "--batch", "32", "--seed", "7")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_two_columns_agree_with_nn(self):
        self.assertEqual(self.exported.HEAD, "sigmoid")
        model = self.exported.load(self.best)
        self.assertEqual(model.network[-1].out_features, 1, "the sigmoid head has a single logit")
        p = self.exported.predict_proba(model, self.rows[:, :-1]).numpy()
        header, _, predicted_nn, p_nn = read_predictions(self.predictions)
        self.assertEqual(header, ["label", "predicted", "p0", "p1"])
        self.assertEqual(p.shape, (len(self.rows), 2))
        np.testing.assert_array_equal(p.argmax(axis=1), predicted_nn)
        np.testing.assert_allclose(p, p_nn, atol=TOLERANCE, rtol=0)

    def test_load_refuses_a_checkpoint_of_another_model(self):
        other_dir = tempfile.mkdtemp(dir=self.tmp.name)
        other = os.path.join(other_dir, "digits.py")
        run = os.path.join(self.tmp.name, "softmax-run")
        run_nn("train", "--data", self.data, "--layers", "8", "--batchnorm", "--epochs", "1", "--batch", "32",
               "--seed", "7", "--out", run, "--no-progress")
        run_nn("export", "--model", os.path.join(run, "best"), "--pytorch", other)
        softmax_module = import_file(other, "softmax_binary_model")
        with self.assertRaisesRegex(ValueError, "another architecture"):
            softmax_module.load(self.best)


if __name__ == "__main__":
    unittest.main()
