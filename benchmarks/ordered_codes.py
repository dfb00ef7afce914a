"""What does an ordered code cost and give? One nested-dropout fit against a fit per size.

For each dataset this fits one ``Autoencoder(n_components=W,
regularizers=[("order", OrderedCode())])`` (W the largest size in
``--sizes``), the same with ``init="random"`` (nested dropout from a
random start rather than PCA's), and, for each size ``j``, a separate default
``Autoencoder(n_components=j)`` and ``PCA(j)``, all on the same training
rows. On the test rows it reports the reconstruction error (squared error
summed over the features of a row, averaged over the rows) of the ordered
code's first ``j`` units (the later ones set to zero, as
``n_components=j``'s prefix would be), of the separate ``j``-unit
autoencoder and of PCA, with the fit times: the ordered fit serves every
size in one fit, and the separate fits add up.

Data: scikit-learn's digits (scaled to [0, 1], a 75/25 split) and, when
``--data-root`` holds ``fashion-mnist/``, Fashion-MNIST (pixels / 255, the
first ``--n-train`` training rows and ``--n-test`` test rows).

Examples
--------
::

    python benchmarks/ordered_codes.py
    python benchmarks/ordered_codes.py --data-root ../shared/data --seeds 0 1
"""

import argparse
import csv
import platform
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import DataError, load_digits_split, load_mnist_format, run_or_exit  # noqa: E402


def sse_per_row(X, reconstruction):
    diff = np.asarray(reconstruction, dtype=np.float64) - np.asarray(X, dtype=np.float64)
    return float((diff**2).sum(axis=1).mean())


def fitted(estimator, X):
    """``(estimator fitted on X, CPU seconds)``."""
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X)
    return estimator, time.process_time() - start


def run(name, X_train, X_test, args, rows):
    from skae import Autoencoder, OrderedCode

    sizes = sorted(args.sizes)
    for seed in args.seeds:
        ordered, ordered_seconds = fitted(
            Autoencoder(sizes[-1], regularizers=[("order", OrderedCode())], random_state=seed),
            X_train,
        )
        # The same ordered code started at random: what nested dropout learns
        # when it cannot keep PCA's start.
        ordered_random, random_seconds = fitted(
            Autoencoder(
                sizes[-1],
                regularizers=[("order", OrderedCode())],
                init="random",
                random_state=seed,
            ),
            X_train,
        )
        codes = ordered.transform(X_test)
        random_codes = ordered_random.transform(X_test)
        for j in sizes:
            prefix = codes.copy()
            prefix[:, j:] = 0.0
            random_prefix = random_codes.copy()
            random_prefix[:, j:] = 0.0
            separate, separate_seconds = fitted(Autoencoder(j, random_state=seed), X_train)
            pca = PCA(j, random_state=seed).fit(X_train)
            row = {
                "dataset": name,
                "seed": seed,
                "units": j,
                "pca_sse": sse_per_row(X_test, pca.inverse_transform(pca.transform(X_test))),
                "ordered_prefix_sse": sse_per_row(X_test, ordered.inverse_transform(prefix)),
                "ordered_random_prefix_sse": sse_per_row(
                    X_test, ordered_random.inverse_transform(random_prefix)
                ),
                "separate_sse": sse_per_row(
                    X_test, separate.inverse_transform(separate.transform(X_test))
                ),
                "ordered_fit_seconds": ordered_seconds,
                "ordered_random_fit_seconds": random_seconds,
                "separate_fit_seconds": separate_seconds,
                "ordered_explained_variance": float(np.sum(ordered.explained_variance_ratio_[:j])),
            }
            rows.append(row)
            print(
                f"{name} seed {seed} j={j}: PCA {row['pca_sse']:.3f}, ordered prefix "
                f"{row['ordered_prefix_sse']:.3f} (random start "
                f"{row['ordered_random_prefix_sse']:.3f}), separate {row['separate_sse']:.3f}",
                flush=True,
            )


def markdown(rows, args, machine, elapsed):
    lines = [
        "## Ordered codes: one nested-dropout fit against a fit per code size",
        "",
        f"Command: `python benchmarks/ordered_codes.py {shlex.join(args.argv)}`. Machine: "
        f"{machine}; total {elapsed / 60:.1f} min. Test reconstruction error (squared error "
        "per row), mean over the seeds; fit times in CPU seconds.",
        "",
        "| dataset | units | PCA | ordered code, first units | ordered code, random start "
        "| separate autoencoder | ordered / separate | ordered explained variance (train) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for name in dict.fromkeys(r["dataset"] for r in rows):
        for j in sorted({r["units"] for r in rows if r["dataset"] == name}):
            here = [r for r in rows if (r["dataset"], r["units"]) == (name, j)]

            def mean(key, here=here):
                return float(np.mean([r[key] for r in here]))

            lines.append(
                f"| {name} | {j} | {mean('pca_sse'):.3f} | {mean('ordered_prefix_sse'):.3f} "
                f"| {mean('ordered_random_prefix_sse'):.3f} | {mean('separate_sse'):.3f} "
                f"| {mean('ordered_prefix_sse') / mean('separate_sse'):.2f} "
                f"| {mean('ordered_explained_variance'):.3f} |"
            )
        here = [r for r in rows if r["dataset"] == name]
        ordered = np.mean([r["ordered_fit_seconds"] for r in here])
        ordered_random = np.mean([r["ordered_random_fit_seconds"] for r in here])
        separate = np.sum([r["separate_fit_seconds"] for r in here]) / len(args.seeds)
        plain = np.mean([r["separate_fit_seconds"] for r in here if r["units"] == max(args.sizes)])
        notes.append(
            f"{name}: the ordered fit took {ordered:.1f} s ({ordered_random:.1f} s from a random "
            f"start), one separate fit of "
            f"{max(args.sizes)} units {plain:.1f} s, the {len(args.sizes)} separate fits "
            f"{separate:.1f} s together (CPU seconds per seed)."
        )
    for note in notes:
        lines += ["", note]
    lines.append("")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=None, help="directory holding fashion-mnist/")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 5, 10, 30])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output-dir", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    machine = (
        f"{__import__('os').cpu_count()}-core CPU ({platform.machine()}), torch "
        f"{torch.__version__}, torch.set_num_threads({args.threads})"
    )
    rows = []
    start = time.perf_counter()
    X_train, _, X_test, _ = load_digits_split()
    run("digits", X_train, X_test, args, rows)
    if args.data_root:
        try:
            X_train, _, X_test, _ = load_mnist_format(Path(args.data_root) / "fashion-mnist")
        except DataError as exc:
            print(f"skipping Fashion-MNIST: {exc}")
        else:
            run("fashion-mnist", X_train[: args.n_train], X_test[: args.n_test], args, rows)
    text = markdown(rows, args, machine, time.perf_counter() - start)
    print(text)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ordered_codes.md").write_text(text)
    with open(out / "ordered_codes.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(run_or_exit(main))
