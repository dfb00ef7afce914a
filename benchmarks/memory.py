"""Peak memory of inference on a large input: transform, inverse_transform, score_samples.

Fits a small model on a few rows, then runs each inference method on an
``n_rows x 784`` float32 array (200,000 rows by default, 627 MB) and
reports how much the method grows the process's memory, next to the size of
its output. Two measures:

- peak RSS: the kernel's high-water mark ``VmHWM`` (Linux), reset just
  before the call by writing 5 to ``/proc/self/clear_refs``; it counts
  every allocation, numpy's and torch's alike, and memory the allocators
  keep after freeing it. Each call runs in a fresh process, so no call
  reuses memory an earlier one freed;
- tracemalloc peak: the allocations numpy reports to Python (torch's CPU
  tensors are not traced).

``--unbatched`` adds, for contrast, ``transform`` and ``inverse_transform``
with inference batching switched off (one batch of all the rows).

Usage::

    python benchmarks/memory.py [--rows 200000] [--unbatched] [--output FILE]

Runs on the CPU with one torch thread. Linux only (``/proc``).
"""

import argparse
import gc
import json
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

import skae._base
from skae import VAE, Autoencoder

MB = 1e6


def rss_bytes(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure(function, *args):
    """Run ``function(*args)``; return its output and the memory it added."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the current RSS
    before = rss_bytes("VmRSS")
    tracemalloc.start()
    start = time.perf_counter()
    out = function(*args)
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, {
        "rss_growth": rss_bytes("VmHWM") - before,
        "traced_peak": traced_peak,
        "seconds": seconds,
    }


CASES = [
    ("Autoencoder", "transform"),
    ("Autoencoder", "inverse_transform"),
    ("Autoencoder", "score_samples"),
    ("VAE", "transform"),
    ("VAE", "score_samples"),
]


def run_case(rows, estimator, method, batched):
    """In this process: build the data, fit, measure one call; print JSON."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.random((rows, 784), dtype=np.float32)
    data = rng.standard_normal((rows, 30), dtype=np.float32) if method == "inverse_transform" else X
    params = {"n_components": 30, "max_iter": 1, "random_state": 0, "device": "cpu"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = {"Autoencoder": Autoencoder, "VAE": VAE}[estimator](**params).fit(X[:2000])
    function = getattr(est, method)
    function(data[:10])  # warm up: lazy initialisation is not inference memory
    if not batched:
        skae._base._INFERENCE_BATCH_VALUES = 1 << 62
    out, m = measure(function, data)
    print(json.dumps({**m, "output": out.nbytes, "input": X.nbytes}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--unbatched", action="store_true")
    parser.add_argument("--output", type=Path, default=None, help="write the table here")
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        estimator, method, mode = args.case
        run_case(args.rows, estimator, method, mode == "batched")
        return
    plan = [(e, m, "batched") for e, m in CASES]
    if args.unbatched:
        plan += [("Autoencoder", m, "unbatched") for m in ("transform", "inverse_transform")]
    rows = []
    for estimator, method, mode in plan:
        command = [sys.executable, __file__, "--rows", str(args.rows), "--case"]
        result = subprocess.run(
            [*command, estimator, method, mode], capture_output=True, text=True, check=True
        )
        m = json.loads(result.stdout.strip().splitlines()[-1])
        rows.append((f"{estimator}.{method}", mode, m))

    lines = [
        f"Inference on {args.rows:,} x 784 float32 rows (input {rows[0][2]['input'] / MB:.0f} "
        f"MB), 784-{'-'.join(map(str, Autoencoder().hidden_layer_sizes))}-30 network "
        f"(the default), CPU, 1 torch thread, torch {torch.__version__}; "
        "one fresh process per call.",
        "",
        "| method | batching | output (MB) | peak RSS growth (MB) | growth - output (MB) "
        "| tracemalloc peak (MB) | time (s) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, mode, m in rows:
        lines.append(
            f"| {name} | {mode} | {m['output'] / MB:.1f} | {m['rss_growth'] / MB:.1f} "
            f"| {(m['rss_growth'] - m['output']) / MB:.1f} | {m['traced_peak'] / MB:.1f} "
            f"| {m['seconds']:.1f} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
