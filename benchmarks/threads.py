"""Does a fit with skae's default thread handling survive a busy core?

torch starts one OpenMP thread per core. When another process holds one of
the cores, the threads of every parallel region wait for the one that is
descheduled, and a fit can become several times slower. skae picks the
thread count per fit (``skae/_threads.py``): one for small networks, the
idle cores for large ones, unless the user chose.

For a small network (the default ``Autoencoder(n_components=10,
max_iter=30)`` on the digits) and a large one (784-1000-30 on random
MNIST-sized rows, 1.6 million weights, 2 epochs), this times the wall-clock
``fit`` three ways, first on the idle machine and then while a bounded
CPU-burning process keeps one core busy:

- ``skae default``: no thread setting at all, skae chooses;
- ``one thread``: ``torch.set_num_threads(1)`` (skae then leaves it alone);
- ``every core``: ``torch.set_num_threads(os.cpu_count())``, torch's own
  default before skae chose, for reference.

Each configuration runs in a fresh interpreter (so the thread setting of
one cannot leak into the next), the configurations are interleaved, and
the table shows medians over ``--repeats`` and each one's ratio to
``one thread`` on the same machine state. Goal: ``skae default`` at most
1.3x ``one thread`` next to the busy process, for both networks.

Examples
--------
::

    python benchmarks/threads.py
    python benchmarks/threads.py --repeats 5 --output benchmarks/results/threads.md
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

BURNER = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"

CHILD = """
import json, os, sys, time, warnings
import numpy as np
import torch
setting = sys.argv[1]
if setting == "one":
    torch.set_num_threads(1)
elif setting == "all":
    torch.set_num_threads(os.cpu_count())
from sklearn.datasets import load_digits
from skae import Autoencoder
if sys.argv[2] == "small":
    X = load_digits().data / 16
    ae = Autoencoder(n_components=10, max_iter=30, random_state=0)
else:
    X = np.random.default_rng(0).random((6000, 784), dtype=np.float32)
    ae = Autoencoder(n_components=30, hidden_layer_sizes=(1000,), max_iter=2,
                     init="random", early_stopping=False, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    ae.fit(X)
    wall = time.perf_counter() - start
print(json.dumps({"wall": wall}))
"""

SETTINGS = {"default": "skae default", "one": "one thread", "all": "every core"}


def time_fit(setting, network):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, setting, network],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["wall"]


def measure(networks, repeats):
    """``{(network, setting): [wall seconds]}``, interleaved."""
    times = {}
    for rep in range(repeats):
        order = list(SETTINGS)
        order = order[rep % len(order) :] + order[: rep % len(order)]
        for network in networks:
            for setting in order:
                times.setdefault((network, setting), []).append(time_fit(setting, network))
    return times


def table(times, networks, state):
    lines = []
    for network in networks:
        base = statistics.median(times[(network, "one")])
        for setting, label in SETTINGS.items():
            t = statistics.median(times[(network, setting)])
            runs = " ".join(f"{x:.2f}" for x in times[(network, setting)])
            lines.append(f"| {state} | {network} | {label} | {t:.2f} | {t / base:.2f}x | {runs} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--networks", nargs="+", default=["small", "large"])
    parser.add_argument("--burn-seconds", type=int, default=1800, help="upper bound")
    parser.add_argument("--output", default=None, help="also write the table to this .md file")
    args = parser.parse_args(argv)

    idle = measure(args.networks, args.repeats)
    burner = subprocess.Popen([sys.executable, "-c", BURNER.format(seconds=args.burn_seconds)])
    try:
        time.sleep(2)
        busy = measure(args.networks, args.repeats)
    finally:
        burner.kill()
        burner.wait()

    command = " ".join(sys.argv[1:] if argv is None else argv)
    header = [
        "## Threads: a fit next to a busy core",
        "",
        f"Command: `python benchmarks/threads.py {command}`"
        f". Machine: {os.cpu_count()}-core CPU ({platform.machine()}), torch {torch.__version__}."
        f" Wall-clock seconds of `fit`, median of {args.repeats} interleaved runs, each in a fresh"
        " interpreter; the ratio is to `one thread` in the same machine state.",
        "",
        "| machine | network | threads | median wall s | ratio to one thread | runs |",
        "|---|---|---|---:|---:|---|",
    ]
    lines = header + table(idle, args.networks, "idle")
    lines += table(busy, args.networks, "one core busy")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
