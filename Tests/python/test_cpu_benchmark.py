"""Checks Benchmarks/compare.sh and torch_reference.py's CPU side: PyTorch is timed here, in this run,
on the same cases nnbench reports, and the table divides by the faster of its two OpenBLAS settings.
Without PyTorch the script refuses to compare instead of leaving the column out.

Needs Debian's PyTorch (python3-torch, seen through .venv): a missing torch fails these tests.

Run:  .venv/bin/python -m pytest -q Tests/python/test_cpu_benchmark.py
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HELPER = os.path.join(ROOT, "Benchmarks", "torch_reference.py")
SCRIPT = os.path.join(ROOT, "Benchmarks", "compare.sh")


def write_executable(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


class MeasureOnCPU(unittest.TestCase):
    def test_quick_measure_times_each_case_once_with_the_given_threads(self):
        run = subprocess.run([sys.executable, HELPER, "measure", "--device", "cpu", "--threads", "1", "--runs", "3", "--quick"],
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(run.returncode, 0, run.stderr)
        records = [json.loads(line) for line in run.stdout.splitlines()]
        self.assertEqual([(r["case"], r["who"], r["unit"]) for r in records], [
            ("softmax 4096×1000", "torch-eager", "GB/s"),
            ("batch-norm forward (training) 4096×1024", "torch-eager", "GB/s"),
            ("MLP 784-512-256-10 batch 128", "torch-eager", "samples/s"),
        ])
        for record in records:
            self.assertTrue(math.isfinite(record["value"]) and record["value"] > 0, record)
            self.assertEqual(record["threads"], 1, "PyTorch must run on the thread count it was given")

    def test_suites_choose_the_cases(self):
        run = subprocess.run([sys.executable, HELPER, "measure", "--device", "cpu", "--threads", "1", "--runs", "3",
                              "--suites", "softmax"], capture_output=True, text=True, timeout=300)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual([json.loads(line)["case"] for line in run.stdout.splitlines()], ["softmax 4096×1000"])

    def test_bad_arguments_are_refused(self):
        for args, message in ((["--suites", "gemm"], "no gemm suite"), (["--suites", "bogus"], "unknown suite"),
                              (["--runs", "2"], "at least 3"), (["--threads", "-1"], "positive count")):
            run = subprocess.run([sys.executable, HELPER, "measure", "--device", "cpu", *args], capture_output=True, text=True)
            self.assertEqual(run.returncode, 2, f"{args}: {run.stderr}")
            self.assertIn(message, run.stderr, args)
        run = subprocess.run([sys.executable, HELPER, "measure", "--runs", "3"], capture_output=True, text=True)
        self.assertEqual(run.returncode, 2, "--device is required")


class CompareScript(unittest.TestCase):
    """compare.sh with a stand-in nnbench (fixed figures) and the real PyTorch."""

    def run_compare(self, folder, *args, python=sys.executable):
        nnbench = os.path.join(folder, "nnbench")
        # Answers each suite with one row per case the table compares, native at a fixed figure.
        report = {
            "softmax": [("softmax rows 4096×1000", 12.5)],
            "train": [("MLP 784-512-256-10 BN ReLU Adam, batch 128", 50_000.0),
                      ("MLP 784-512-256-10 BN ReLU Adam, batch 512", 70_000.0)],
        }
        reports = {suite: json.dumps({"backends": [{"name": "native", "device": "stand-in"}], "rows": [
            {"suite": suite, "name": name, "results": [{"backend": "native", "figure": {"median": median}}]}
            for name, median in rows]}) for suite, rows in report.items()}
        cases = "\n".join(f"    {suite}) echo '{text}' ;;" for suite, text in reports.items())
        write_executable(nnbench, f'#!/bin/sh\ncase "$1" in\n{cases}\n    *) exit 9 ;;\nesac\n')
        env = dict(os.environ, NNBENCH=nnbench, PYTHON=python)
        return subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)

    def test_ratios_are_against_the_faster_pytorch_run_of_this_run(self):
        with tempfile.TemporaryDirectory() as folder:
            run = self.run_compare(folder, "--threads", "1", "--runs", "5", "--suites", "softmax,train")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("PyTorch (CPU), 1 thread(s)", run.stderr)
        rows = {}
        for line in run.stdout.splitlines():
            cells = re.split(r"\s{2,}", line.strip())
            if len(cells) == 5 and cells[-1].endswith("×"):
                rows[cells[0]] = cells
        self.assertEqual(set(rows), {"softmax rows 4096×1000", "MLP 784-512-256-10 BN ReLU Adam, batch 128",
                                     "MLP 784-512-256-10 BN ReLU Adam, batch 512"}, run.stdout)
        for name, (_, ours, with_env, unset, ratio) in rows.items():
            reference = max(float(with_env), float(unset))
            self.assertGreater(reference, 0, name)
            # The table rounds each reference to 0.1 (under 1000) or 1, at most 0.3 % of these figures,
            # and the ratio to 0.01: 1 % and 0.005 cover both.
            self.assertAlmostEqual(float(ratio.rstrip("×")), float(ours) / reference, delta=0.01 * float(ours) / reference + 0.005,
                                   msg=f"{name}: {ratio} is not {ours} / max({with_env}, {unset})")

    def test_refuses_without_pytorch_before_building(self):
        with tempfile.TemporaryDirectory() as folder:
            no_torch = os.path.join(folder, "python")
            write_executable(no_torch, f'#!/bin/sh\nexec {sys.executable} -c "import sys; sys.exit(3)" "$@"\n')
            run = self.run_compare(folder, "--suites", "train", python=no_torch)
        self.assertEqual(run.returncode, 3, run.stderr)
        self.assertIn("need PyTorch", run.stderr)
        self.assertNotIn("nnbench", run.stderr)

    def test_rejects_bad_arguments(self):
        for args in (["--runs", "2"], ["--threads", "0"], ["--suites", "gemm,bogus"], ["--threads"], ["--bogus"]):
            with tempfile.TemporaryDirectory() as folder:
                run = self.run_compare(folder, *args)
            self.assertEqual(run.returncode, 2, f"{args}: {run.stderr}")
            self.assertIn("compare.sh:", run.stderr)


if __name__ == "__main__":
    unittest.main()
