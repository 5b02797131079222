"""Checks Benchmarks/gpu.sh and torch_reference.py's CUDA side where no GPU is: they must refuse to compare (exit 3,
saying why) instead of printing a table, and the table itself must pair nnbench's figures with
PyTorch's and compute the ratios. The measuring half needs a CUDA GPU and is not exercised here.

Run:  .venv/bin/python -m pytest -q Tests/python/test_gpu_benchmark.py
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HELPER = os.path.join(ROOT, "Benchmarks", "torch_reference.py")
SCRIPT = os.path.join(ROOT, "Benchmarks", "gpu.sh")


def cuda_usable():
    probe = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def nnbench_report(rows):
    """The parts of an `nnbench --json` report that the table reads."""
    return {
        "backends": [{"name": "opencl", "device": "Test GPU"}],
        "rows": [{"suite": suite, "name": name, "results": [
            {"backend": "opencl", "figure": {"median": median}, "launchesPerCall": 29 if suite == "train" else 1},
            {"backend": "native", "figure": {"median": 1.0}},
        ]} for suite, name, median in rows],
    }


@unittest.skipIf(cuda_usable(), "PyTorch with CUDA is usable here: the refusal path does not apply")
class RefusalWithoutCUDA(unittest.TestCase):
    def test_helper_check_exits_3_and_says_why(self):
        run = subprocess.run([sys.executable, HELPER, "check", "--device", "cuda"], capture_output=True, text=True)
        self.assertEqual(run.returncode, 3, run.stderr)
        self.assertIn("nothing to compare", run.stderr)
        self.assertRegex(run.stderr, r"not importable|torch\.cuda\.is_available\(\) is False")

    def test_measure_refuses_too(self):
        run = subprocess.run([sys.executable, HELPER, "measure", "--device", "cuda", "--quick"], capture_output=True, text=True)
        self.assertEqual(run.returncode, 3, run.stderr)
        self.assertEqual(run.stdout, "", "no figures may be printed without a GPU")

    def test_script_exits_3_before_building(self):
        env = dict(os.environ, PYTHON=sys.executable, NNBENCH="/nonexistent/nnbench")
        run = subprocess.run(["bash", SCRIPT, "--quick"], capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(run.returncode, 3, run.stderr)
        self.assertIn("needs PyTorch with CUDA", run.stderr)
        self.assertNotIn("building nnbench", run.stderr)


class ArgumentHandling(unittest.TestCase):
    def test_script_rejects_unknown_arguments_and_few_runs(self):
        for args in (["--bogus"], ["--runs", "2"], ["--runs", "x"]):
            run = subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, timeout=60)
            self.assertEqual(run.returncode, 2, f"{args}: {run.stderr}")
            self.assertIn("gpu.sh:", run.stderr)


class BundleLayout(unittest.TestCase):
    """In an unpacked scripts/bundle.sh tarball (nnbench beside Benchmarks/, no Package.swift and no
    Swift), gpu.sh runs the bundle's nnbench. A stand-in Python passes the CUDA check, so the
    script's own choices are what is tested, not PyTorch."""

    def test_uses_the_bundled_nnbench_instead_of_building(self):
        with tempfile.TemporaryDirectory() as bundle:
            os.makedirs(os.path.join(bundle, "Benchmarks"))
            script = os.path.join(bundle, "Benchmarks", "gpu.sh")
            with open(SCRIPT) as source, open(script, "w") as copy:
                copy.write(source.read())
            calls = os.path.join(bundle, "calls")
            stand_ins = {
                # Records its arguments and answers as an empty nnbench report.
                "nnbench": f'#!/bin/sh\necho "nnbench $*" >> {calls}\necho \'{{"backends": [], "rows": []}}\'\n',
                "python": f'#!/bin/sh\necho "python $*" >> {calls}\n',
            }
            for name, text in stand_ins.items():
                with open(os.path.join(bundle, name), "w") as f:
                    f.write(text)
                os.chmod(os.path.join(bundle, name), 0o755)
            env = {k: v for k, v in os.environ.items() if k != "NNBENCH"}
            env.update(PYTHON=os.path.join(bundle, "python"), PATH="/usr/bin:/bin")  # no swift on PATH
            run = subprocess.run(["bash", script, "--quick", "--runs", "5"], capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertNotIn("building nnbench", run.stderr)
            with open(calls) as f:
                recorded = f.read()
        self.assertIn(f"==> nnbench ({bundle}/nnbench)", run.stderr)
        self.assertIn("nnbench gemm --backend opencl --json --runs 5", recorded)
        self.assertIn("python Benchmarks/torch_reference.py measure --device cuda --runs 5 --quick", recorded)


class Table(unittest.TestCase):
    def test_pairs_figures_and_computes_ratios(self):
        with tempfile.TemporaryDirectory() as folder:
            ours = os.path.join(folder, "nnbench.json")
            with open(ours, "w") as f:
                json.dump(nnbench_report([
                    ("gemm", "2048×2048×2048  C = A·B", 45_000.0),
                    ("gemm", "(256×784)·(784×512)  Z = X·W", 4_000.0),
                    ("gemm", "(784×256)·(256×512)  dW = Xᵀ·dZ", 9_999.0),   # not a compared shape
                    ("softmax", "softmax rows 4096×1000", 1_700.0),
                    ("batchnorm", "forward (training) 4096×1024", 900.0),
                    ("train", "MLP 784-512-256-10 BN ReLU Adam, batch 128", 300_000.0),
                    ("train", "MLP 784-4096-4096-10 BN ReLU Adam, batch 4096", 100_000.0),
                ]), f)
            theirs = os.path.join(folder, "torch.jsonl")
            with open(theirs, "w") as f:
                f.write("noise that is not JSON\n")
                for case, who, value in [
                    ("sgemm 2048³", "cublas", 50_000.0),
                    ("sgemm (256×784)·(784×512)", "cublas", 16_000.0),
                    ("softmax 4096×1000", "torch-eager", 3_400.0),
                    ("batch-norm forward (training) 4096×1024", "torch-eager", 600.0),
                    ("MLP 784-512-256-10 batch 128", "torch-eager", 120_000.0),
                    ("MLP 784-512-256-10 batch 128", "torch-cudagraphs", 150_000.0),
                    ("MLP 784-4096-4096-10 batch 4096", "torch-eager", 400_000.0),
                ]:
                    f.write(json.dumps({"case": case, "who": who, "value": value}) + "\n")
            run = subprocess.run([sys.executable, HELPER, "table", theirs, ours], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        lines = {line.split("  ")[0]: line for line in run.stdout.splitlines()}
        self.assertRegex(lines["sgemm 2048³"], r"0\.9×\s+cublas\s+≥ 0\.8× met")
        self.assertRegex(lines["sgemm (256×784)·(784×512)"], r"0\.25×\s+cublas\s+≥ 0\.5× missed")
        self.assertRegex(lines["softmax 4096×1000"], r"0\.5×\s+torch-eager\s+≥ 0\.9× missed")
        self.assertRegex(lines["batch-norm forward (training) 4096×1024"], r"1\.5×\s+torch-eager\s+≥ 1\.5× met")
        # "best" takes the faster PyTorch figure: 300k / 150k (CUDA graphs), not / 120k (eager).
        self.assertRegex(lines["MLP 784-512-256-10 batch 128"], r"2×\s+best\s+≥ 2\.0× met")
        self.assertRegex(lines["MLP 784-4096-4096-10 batch 4096"], r"0\.25×\s+best\s+≥ 0\.8× missed")
        self.assertRegex(lines["MLP 784-512-256-10 batch 128"], r"300,000\s+29\s", "SwiftNN's launches per step beside its figure")
        self.assertIn("Test GPU", run.stdout)
        self.assertIn("sgemm 4096³", run.stderr, "cases without figures are named")


if __name__ == "__main__":
    unittest.main()
