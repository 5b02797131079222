#!/usr/bin/env python3
"""PyTorch's side of the comparisons: Benchmarks/gpu.sh on a CUDA GPU, Benchmarks/compare.sh on the CPU.

    torch_reference.py check --device cuda|cpu
                              exit 0 when torch imports (and, for cuda, sees a CUDA device), else say why, exit 3
    torch_reference.py measure --device cuda|cpu [--threads N] [--runs N] [--suites S,...] [--quick]
                              time PyTorch (cuBLAS on cuda); one JSON object per line on stdout
    torch_reference.py table TORCH.jsonl NNBENCH.json...
                              gpu.sh's table: medians, ratios and issue 10's goals; needs no torch

Every figure is the median of --runs timed runs (default 7); a run repeats its call until it lasts at
least 0.2 s and synchronises the device before the clock stops, as nnbench's runs do. FP32 throughout:
on CUDA, TF32 is switched off for matmuls and cuDNN, so cuBLAS runs the same arithmetic as SwiftNN's
kernels. On the CPU, --threads sets PyTorch's intra-op threads (compare.sh passes nnbench's count).

The cases, keyed as nnbench's rows map onto them (case_key):
- gemm (cuda only; compare.sh's CPU GEMM reference is numpy's OpenBLAS): torch.matmul on 2048³, 4096³
  and the batch-256 MLP forward shapes, GFLOP/s;
- softmax: torch.softmax over the rows of 4096×1000, GB/s (read x, write y);
- batchnorm: BatchNorm1d's training forward of 4096×1024, GB/s (read x, write y);
- train: steps (forward, cross-entropy, backward, Adam) of nnbench's MLP, samples/s, eager and (cuda)
  the whole step captured as one CUDA graph: 784-512-256-10 at batches 128 and 512, and on cuda also
  at 4096 and the wide 784-4096-4096-10 at 4096.
"""
import argparse
import json
import re
import statistics
import sys
import time

SUITES = ("gemm", "softmax", "batchnorm", "train")

# (case key, unit, what SwiftNN must reach as a multiple of the reference, the reference's name). The
# goals are the ones issue 10 states for an H200; "best" is the better of eager and CUDA graphs.
CASES = [
    ("sgemm 2048³", "GFLOP/s", 0.8, "cublas"),
    ("sgemm 4096³", "GFLOP/s", 0.8, "cublas"),
    ("sgemm (256×784)·(784×512)", "GFLOP/s", 0.5, "cublas"),
    ("sgemm (256×512)·(512×256)", "GFLOP/s", 0.5, "cublas"),
    ("softmax 4096×1000", "GB/s", 0.9, "torch-eager"),
    ("batch-norm forward (training) 4096×1024", "GB/s", 1.5, "torch-eager"),
    ("MLP 784-512-256-10 batch 128", "samples/s", 2.0, "best"),
    ("MLP 784-512-256-10 batch 512", "samples/s", 2.0, "best"),
    ("MLP 784-512-256-10 batch 4096", "samples/s", 1.0, "torch-cudagraphs"),
    ("MLP 784-4096-4096-10 batch 4096", "samples/s", 0.8, "best"),
]

# nnbench's row names (as in its --json reports) and the case keys above they measure.
NNBENCH_ROWS = [
    (r"^(\d+)×\1×\1  C = A·B$", lambda m: f"sgemm {m.group(1)}³"),
    (r"^\((\d+)×(\d+)\)·\(\2×(\d+)\)  Z = X·W$", lambda m: f"sgemm ({m.group(1)}×{m.group(2)})·({m.group(2)}×{m.group(3)})"),
    (r"^softmax rows (\d+)×(\d+)$", lambda m: f"softmax {m.group(1)}×{m.group(2)}"),
    (r"^forward \(training\) (\d+)×(\d+)$", lambda m: f"batch-norm forward (training) {m.group(1)}×{m.group(2)}"),
    (r"^MLP ([\d-]+) BN ReLU Adam, batch (\d+)$", lambda m: f"MLP {m.group(1)} batch {m.group(2)}"),
]


def case_key(row_name):
    """The case key of an nnbench row, or None for a row PyTorch is not compared on."""
    for pattern, key in NNBENCH_ROWS:
        match = re.match(pattern, row_name)
        if match:
            return key(match)
    return None


def torch_problem(device):
    """Why PyTorch cannot time `device` here, or None when it can."""
    try:
        import torch
    except Exception as error:  # ImportError, or a broken install failing inside its own imports
        return f"PyTorch is not importable ({type(error).__name__}: {error})"
    if device == "cuda" and not torch.cuda.is_available():
        built = getattr(torch.version, "cuda", None)
        why = "it was built without CUDA" if not built else f"it was built for CUDA {built} but sees no usable GPU/driver"
        return f"PyTorch {torch.__version__} is importable but torch.cuda.is_available() is False: {why}"
    return None


def cpu_name():
    """The CPU's model name (Linux), for the records."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "CPU"


def measure(device, runs, quick, suites, threads):
    import torch
    import torch.nn as nn

    on_cuda = device == "cuda"
    if on_cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        dev, device_name, sync = torch.device("cuda"), torch.cuda.get_device_name(0), torch.cuda.synchronize
    else:
        if threads:
            torch.set_num_threads(threads)
        dev, device_name, sync = torch.device("cpu"), cpu_name(), lambda: None

    def timed(call):
        """Seconds per call: the median of `runs` runs, each at least 0.2 s of back-to-back calls."""
        call()
        sync()
        repeats = 1
        while True:
            start = time.perf_counter()
            for _ in range(repeats):
                call()
            sync()
            elapsed = time.perf_counter() - start
            if elapsed > 0.05:
                break
            repeats *= 2
        repeats = max(1, int(repeats * 0.2 / elapsed))
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            for _ in range(repeats):
                call()
            sync()
            samples.append((time.perf_counter() - start) / repeats)
        return statistics.median(samples)

    def emit(case, who, value, unit):
        print(json.dumps({"case": case, "who": who, "value": value, "unit": unit, "device": device_name,
                          "threads": None if on_cuda else torch.get_num_threads(), "torch": torch.__version__}), flush=True)

    if "gemm" in suites:
        gemms = [(2048, 2048, 2048, "sgemm 2048³"), (4096, 4096, 4096, "sgemm 4096³"),
                 (256, 784, 512, "sgemm (256×784)·(784×512)"), (256, 512, 256, "sgemm (256×512)·(512×256)")]
        for m, k, n, case in gemms[:1] if quick else gemms:
            a = torch.randn(m, k, device=dev)
            b = torch.randn(k, n, device=dev)
            c = torch.empty(m, n, device=dev)
            emit(case, "cublas", 2 * m * n * k / timed(lambda: torch.matmul(a, b, out=c)) / 1e9, "GFLOP/s")

    with torch.no_grad():
        if "softmax" in suites:
            x = torch.randn(4096, 1000, device=dev)
            emit("softmax 4096×1000", "torch-eager", 2 * x.numel() * 4 / timed(lambda: torch.softmax(x, 1)) / 1e9, "GB/s")
        if "batchnorm" in suites:
            xb = torch.randn(4096, 1024, device=dev)
            bn = nn.BatchNorm1d(1024).to(dev).train()
            # nnbench's work model: read x, write y (the per-feature vectors are not counted).
            emit("batch-norm forward (training) 4096×1024", "torch-eager",
                 2 * xb.numel() * 4 / timed(lambda: bn(xb)) / 1e9, "GB/s")

    if "train" in suites:
        # nnbench train's default batches everywhere; the large-batch and wide cases are GPU work.
        mlps = [((512, 256), 128), ((512, 256), 512)] + ([((512, 256), 4096), ((4096, 4096), 4096)] if on_cuda else [])
        modes = ("eager", "cudagraphs") if on_cuda else ("eager",)
        for widths, batch in mlps[:1] if quick else mlps:
            case = f"MLP 784-{'-'.join(map(str, widths))}-10 batch {batch}"
            for mode in modes:
                emit(case, f"torch-{mode}", mlp_samples_per_second(torch, nn, dev, widths, batch, mode, timed), "samples/s")


def mlp_samples_per_second(torch, nn, dev, widths, batch, mode, timed):
    """Training steps (forward, cross-entropy, backward, Adam) of the MLP nnbench trains: Linear without
    bias before BatchNorm1d and ReLU per hidden layer, a biased output layer; the batch already on the GPU,
    as in nnbench. "cudagraphs" captures the whole step once and replays it (PyTorch's documented
    whole-network capture, with a capturable Adam), which removes the per-kernel launch cost."""
    torch.manual_seed(0)
    layers, fan_in = [], 784
    for width in widths:
        layers += [nn.Linear(fan_in, width, bias=False), nn.BatchNorm1d(width), nn.ReLU()]
        fan_in = width
    model = nn.Sequential(*layers, nn.Linear(fan_in, 10)).to(dev).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=(mode == "cudagraphs"))
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 784, device=dev) * 2 - 1
    y = torch.randint(0, 10, (batch,), device=dev)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    if mode == "eager":
        return batch / timed(step)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up on a side stream, as capture requires
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        loss_fn(model(x), y).backward()
        optimizer.step()
    return batch / timed(graph.replay)


def nnbench_figures(paths):
    """{case key: (median, device, launches per call or None)} from nnbench --json reports, the first
    opencl figure of each case."""
    figures = {}
    for path in paths:
        with open(path) as f:
            report = json.load(f)
        devices = {b["name"]: b["device"] for b in report.get("backends", [])}
        for row in report.get("rows", []):
            key = case_key(row["name"])
            if key is None:
                continue
            for result in row["results"]:
                if result["backend"] == "opencl" and result.get("figure"):
                    figures.setdefault(key, (result["figure"]["median"], devices.get("opencl", "?"),
                                             result.get("launchesPerCall")))
    return figures


def torch_figures(path):
    """{(case key, who): value} from the measure step's JSON lines (other lines are ignored)."""
    figures = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                record = json.loads(line)
                figures[(record["case"], record["who"])] = record["value"]
    return figures


def table(torch_path, nnbench_paths):
    ours = nnbench_figures(nnbench_paths)
    theirs = torch_figures(torch_path)
    # "launches": kernels SwiftNN enqueues per call, each a few microseconds of driver time on a GPU.
    header = ["case", "unit", "SwiftNN", "launches", "cuBLAS/eager", "CUDA graphs", "ratio", "vs", "goal"]
    rows = [header]
    missing = []
    for case, unit, goal, reference in CASES:
        mine, _, launches = ours.get(case, (None, None, None))
        eager = theirs.get((case, "cublas"), theirs.get((case, "torch-eager")))
        graphs = theirs.get((case, "torch-cudagraphs"))
        if reference == "best":
            candidates = [v for v in (eager, graphs) if v is not None]
            ref = max(candidates) if candidates else None
        elif reference == "torch-cudagraphs":
            ref = graphs
        else:
            ref = eager
        if mine is None or ref is None:
            missing.append(case)
        ratio = mine / ref if mine is not None and ref else None
        verdict = "" if ratio is None else ("met" if ratio >= goal else "missed")
        fmt = lambda v: "–" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.3g}")
        rows.append([case, unit, fmt(mine), "–" if launches is None else str(launches), fmt(eager), fmt(graphs),
                     "–" if ratio is None else f"{ratio:.3g}×",
                     reference, f"≥ {goal}× {verdict}".rstrip()])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    devices = sorted({device for _, device, _ in ours.values()})
    print(f"\nSwiftNN device: {', '.join(devices) or '–'}; medians; ratio = SwiftNN / the 'vs' figure "
          "(best = the faster of eager and CUDA graphs).")
    sys.stdout.flush()  # the table first, then the note, when both go to one terminal
    if missing:
        print(f"no figure on one side for: {', '.join(missing)}", file=sys.stderr)
    return 0


def suite_list(text):
    """--suites: a comma-separated subset of SUITES."""
    suites = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [suite for suite in suites if suite not in SUITES]
    if unknown or not suites:
        raise argparse.ArgumentTypeError(f"unknown suite(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(SUITES)}")
    return suites


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    devices = ("cuda", "cpu")
    c = sub.add_parser("check", help="exit 0 when PyTorch can time the device, else print why and exit 3")
    c.add_argument("--device", choices=devices, required=True)
    m = sub.add_parser("measure", help="time PyTorch (cuBLAS on cuda); JSON lines on stdout")
    m.add_argument("--device", choices=devices, required=True)
    m.add_argument("--runs", type=int, default=7, help="timed runs per figure (median taken); at least 3")
    m.add_argument("--threads", type=int, default=0, help="cpu: PyTorch's intra-op threads (default: its own choice)")
    m.add_argument("--suites", type=suite_list, default=None,
                   help="comma-separated: gemm (cuda only), softmax, batchnorm, train (default: all the device has)")
    m.add_argument("--quick", action="store_true", help="one GEMM, the ops and one MLP: a set-up check")
    t = sub.add_parser("table", help="print gpu.sh's comparison of a measure output with nnbench --json reports")
    t.add_argument("torch_jsonl")
    t.add_argument("nnbench_json", nargs="+")
    args = parser.parse_args(argv)

    if args.command == "table":
        return table(args.torch_jsonl, args.nnbench_json)
    if args.command == "measure":
        if args.runs < 3:
            parser.error("--runs must be at least 3 (a median of fewer says little)")
        if args.threads < 0 or (args.threads and args.device == "cuda"):
            parser.error("--threads takes a positive count, and only with --device cpu")
        if args.suites and args.device == "cpu" and "gemm" in args.suites:
            parser.error("--device cpu has no gemm suite: compare.sh's CPU GEMM reference is numpy's OpenBLAS")
    problem = torch_problem(args.device)
    if problem:
        print(f"torch_reference.py: {problem}; there is nothing to compare against on this machine.", file=sys.stderr)
        return 3
    if args.command == "check":
        return 0
    suites = args.suites or [s for s in SUITES if args.device == "cuda" or s != "gemm"]
    measure(args.device, args.runs, args.quick, suites, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
