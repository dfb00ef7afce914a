"""Out-of-core training with dask-ml: peak memory stays flat as the data grows.

For each row count in ``--rows`` a lazily generated dask array (``--features``
float32 columns, blocks of ``--block-rows`` rows, each block drawn from its
own seed only when dask computes it) is used twice, each time in a fresh
Python process so that its peak memory is its own:

- streamed: ``dask_ml.wrappers.Incremental(Autoencoder(...)).fit(X)`` trains
  one epoch through ``partial_fit`` block by block, then the mean squared
  reconstruction error is computed blockwise (``transform`` and
  ``inverse_transform`` mapped over the blocks);
- in-memory (up to ``--in-memory-max-rows``): the same array computed into
  one numpy array, then one ``partial_fit`` epoch on all of it and the same
  error, the way a single ``fit`` would hold the data.

Peak memory is the process's peak resident set size during the work
(sampled every 20 ms from ``/proc/self/statm``; ``ru_maxrss`` where that is
missing), reported above the baseline measured after the imports and the
estimator's construction, so the roughly 400 MB of the torch import do not
hide the growth. The dask graph runs on the synchronous scheduler, one
block at a time, as ``partial_fit`` is sequential anyway. torch and BLAS run
on one thread (``--threads``).

Output: a table on stdout, and ``out_of_core.csv`` and ``out_of_core.md``
under ``--output-dir``. Needs the ``dask`` extra (``pip install "skae[dask]"``).

Examples
--------
::

    python benchmarks/out_of_core.py                       # about 2 minutes on 2 cores
    python benchmarks/out_of_core.py --rows 50000 200000 --in-memory-max-rows 200000
"""

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

_MB = 1 << 20


def make_lazy_data(n_rows, n_features, block_rows, n_latent=8, seed=0):
    """A dask array of rows near a curved ``n_latent``-dimensional manifold.

    Each block is generated from ``(seed, block index)`` when it is computed,
    so the whole array never exists in memory unless asked for.
    """
    import dask.array as da

    mixing = np.random.default_rng(seed).standard_normal((n_latent, n_features))
    mixing /= np.sqrt(n_latent)

    def block(block_info=None):
        (start, stop), _ = block_info[None]["array-location"]
        rng = np.random.default_rng([seed, block_info[None]["chunk-location"][0]])
        latent = rng.standard_normal((stop - start, n_latent))
        rows = np.tanh(latent @ mixing) + 0.05 * rng.standard_normal((stop - start, n_features))
        return rows.astype(np.float32)

    n_blocks, last = divmod(n_rows, block_rows)
    chunks = ((block_rows,) * n_blocks + ((last,) if last else ()), (n_features,))
    return da.map_blocks(block, chunks=chunks, dtype=np.float32, meta=np.empty((0, 0), np.float32))


class PeakRSS:
    """Sample the resident set size in a thread; ``peak`` is the largest seen, in bytes."""

    def __init__(self, interval=0.02):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def current(self):
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * self._page
        except OSError:  # not Linux: ru_maxrss is the peak so far, in KiB
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            self._stop.wait(self.interval)

    def __enter__(self):
        self.peak = self.current()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.current())


def run_one(mode, n_rows, args):
    """Train and evaluate once in this process; return a dict of measurements."""
    import dask
    import torch
    from dask_ml.wrappers import Incremental
    from sklearn.base import clone
    from threadpoolctl import threadpool_limits

    from skae import Autoencoder

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    X = make_lazy_data(n_rows, args.features, args.block_rows, seed=args.random_state)
    ae = Autoencoder(
        n_components=args.n_components,
        hidden_layer_sizes=tuple(args.hidden),
        batch_size=args.batch_size,
        random_state=args.random_state,
        device=args.device,
    )
    # Warm up torch's allocator and kernels on a few rows, then start anew.
    clone(ae).partial_fit(X[:64].compute())

    def block_error(block, model):
        recon = model.inverse_transform(model.transform(block))
        return ((recon - block) ** 2).sum(axis=1, keepdims=True, dtype=np.float64)

    baseline = PeakRSS().current()
    with dask.config.set(scheduler="synchronous"):
        start = time.perf_counter()
        with PeakRSS() as fit_peak:
            if mode == "streamed":
                model = Incremental(ae, shuffle_blocks=False).fit(X).estimator_
            else:
                data = X.compute()
                model = ae.partial_fit(data)
        fit_seconds = time.perf_counter() - start
        with PeakRSS() as eval_peak:
            if mode == "streamed":
                chunks = (X.chunks[0], (1,))
                errors = X.map_blocks(block_error, model, chunks=chunks, dtype=float)
                error = float(errors.sum().compute())
            else:
                error = float(block_error(data, model).sum())
    return {
        "mode": mode,
        "rows": n_rows,
        "data_mb": n_rows * args.features * 4 / _MB,
        "baseline_mb": baseline / _MB,
        "fit_peak_mb": (fit_peak.peak - baseline) / _MB,
        "transform_peak_mb": (eval_peak.peak - baseline) / _MB,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "fit_seconds": fit_seconds,
        "epochs": model.n_iter_,
        "reconstruction_mse": error / (n_rows * args.features),
    }


def parse_args(argv=None):
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 400_000, 1_600_000])
    parser.add_argument("--features", type=int, default=256)
    parser.add_argument("--block-rows", type=int, default=20_000)
    parser.add_argument(
        "--in-memory-max-rows",
        type=int,
        default=400_000,
        help="run the in-memory comparison only up to this many rows",
    )
    parser.add_argument("--n-components", type=int, default=8)
    parser.add_argument("--hidden", type=int, nargs="*", default=[64])
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--output-dir",
        default=str(Path(__file__).resolve().parent / "results"),
        help="where the CSV and Markdown table go",
    )
    parser.add_argument("--child", nargs=2, metavar=("MODE", "ROWS"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _table(results):
    lines = [
        "| mode | rows | data (MB) | fit: peak RSS above baseline (MB) "
        "| transform: peak RSS above baseline (MB) | baseline RSS (MB) | fit seconds "
        "| reconstruction MSE |",
        "|" + "---|" * 8,
    ]
    for r in results:
        lines.append(
            f"| {r['mode']} | {r['rows']:,} | {r['data_mb']:.0f} | {r['fit_peak_mb']:.0f} "
            f"| {r['transform_peak_mb']:.0f} | {r['baseline_mb']:.0f} "
            f"| {r['fit_seconds']:.1f} | {r['reconstruction_mse']:.4f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        mode, rows = args.child
        print(json.dumps(run_one(mode, int(rows), args)))
        return 0
    try:
        import dask_ml  # noqa: F401
    except ImportError:
        print('This benchmark needs the dask extra: pip install "skae[dask]"', file=sys.stderr)
        return 2

    passthrough = list(argv if argv is not None else sys.argv[1:])
    results = []
    for n_rows in args.rows:
        modes = ["streamed"] + (["in-memory"] if n_rows <= args.in_memory_max_rows else [])
        for mode in modes:
            out = subprocess.run(
                [sys.executable, __file__, *passthrough, "--child", mode, str(n_rows)],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(result)
            print(
                f"{mode:>9} {n_rows:>10,} rows, data {result['data_mb']:6.0f} MB: peak RSS "
                f"+{result['fit_peak_mb']:.0f} MB in fit, +{result['transform_peak_mb']:.0f} MB "
                f"in transform (baseline {result['baseline_mb']:.0f} MB); fit "
                f"{result['fit_seconds']:.1f} s; reconstruction MSE "
                f"{result['reconstruction_mse']:.4f}",
                flush=True,
            )

    table = _table(results)
    print()
    print(table)
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "out_of_core.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(results[0]))
        writer.writeheader()
        writer.writerows(results)
    note = (
        f"features {args.features}, blocks of {args.block_rows:,} rows, Autoencoder"
        f"(n_components={args.n_components}, hidden_layer_sizes={tuple(args.hidden)}, "
        f"batch_size={args.batch_size}), one epoch, device {args.device}, "
        f"{args.threads} thread(s); peak RSS sampled every 20 ms, each run in a fresh process."
    )
    (out_dir / "out_of_core.md").write_text(f"{table}\n\n{note}\n")
    print(f"\n{note}\nwrote {out_dir / 'out_of_core.csv'} and {out_dir / 'out_of_core.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
