"""Is the default autoencoder ever worse than PCA of the same size? Small data, wide codes.

For each dataset, training-set size, code size and seed, this fits PCA and
each skae estimator in ``--estimators`` with default parameters (only
``n_components``, ``random_state`` and the architecture for ``conv`` set) on
the same random subset of the training rows, and reports the test
reconstruction error of each as the squared error summed over the features
of a row, averaged over the test rows, and the ratio of the estimator's to
PCA's. The estimators in ``--previous`` are also fitted with the defaults
skae had before ``init="auto"``, ``early_stopping="auto"`` and
``learning_rate="adaptive"`` (``init="random", early_stopping=False,
learning_rate="constant"``), up to ``--previous-max-rows``
training rows (200 epochs of the full sets take too long), so that one run
shows what the change did. The denoising autoencoder is scored on clean test
rows, where its corruption costs reconstruction on purpose. The full
training sets run only for the estimators in ``--full-for``.

Data: scikit-learn's digits (scaled to [0, 1], the last 397 rows as test
rows, the first 1,400 as the pool of training rows), and MNIST and
Fashion-MNIST when ``--data-root`` holds ``mnist/`` and ``fashion-mnist/``
(pixels / 255, the first ``--n-test`` test images). Tabular sets bundled
with scikit-learn (``breast-cancer``, 569 rows x 30 features; ``wine``,
178 x 13; ``diabetes``, 442 x 10): a fixed shuffle, 30 % of the rows as test
rows and the rest as the pool, every feature standardised with the pool's
mean and standard deviation (as a user would with ``StandardScaler``); the
convolutional network does not apply to them. Sizes larger than the pool,
and codes with as many components as the data has features, are skipped;
``full`` is the whole pool. Sizes from ``--large`` rows up run only the
first ``--large-seeds`` seeds.

Output: a CSV of every fit, a Markdown table of the worst (largest) ratio
over the seeds in each cell, and a figure of the ratio against the number of
training rows, under ``--output-dir``. ``--jobs`` runs the cells in parallel
processes (one torch thread each); fit times are CPU seconds of the process.

Examples
--------
::

    python benchmarks/never_worse_than_pca.py                      # digits, minutes
    python benchmarks/never_worse_than_pca.py --datasets digits fashion-mnist mnist \\
        --data-root ../shared/data --jobs 2
    python benchmarks/never_worse_than_pca.py --datasets breast-cancer wine diabetes \\
        --n-components 2 5 10 --estimators autoencoder denoising \\
        --full-for autoencoder denoising --name never_worse_than_pca_tabular \\
        --jobs 2                                               # tabular, minutes
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
from joblib import Parallel, delayed
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import DataError, load_mnist_format, parameters_from_pairs, run_or_exit  # noqa: E402

ESTIMATORS = ("autoencoder", "denoising", "conv")
IMAGES = ("digits", "fashion-mnist", "mnist")
TABULAR = {"breast-cancer": load_breast_cancer, "wine": load_wine, "diabetes": load_diabetes}
VARIANTS = {
    "default": {},
    "previous": {"init": "random", "early_stopping": False, "learning_rate": "constant"},
}
COLUMNS = [
    "dataset",
    "n_train",
    "n_components",
    "seed",
    "estimator",
    "variant",
    "pca_sse",
    "sse",
    "ratio",
    "epochs",
    "kept_pca",
    "fit_seconds",
    "kept_mlp",
]


def load(name, data_root, n_test):
    """``(pool, test, image_shape)`` of a dataset, or None when its files are missing.

    ``image_shape`` is None for the tabular sets.
    """
    if name in TABULAR:
        X = TABULAR[name]().data
        order = np.random.RandomState(0).permutation(len(X))
        n_held_out = round(0.3 * len(X))
        pool, test = X[order[n_held_out:]], X[order[:n_held_out]]
        scaler = StandardScaler().fit(pool)
        return (
            scaler.transform(pool).astype(np.float32),
            scaler.transform(test).astype(np.float32),
            None,
        )
    if name == "digits":
        X = (load_digits().data / 16).astype(np.float32)
        return X[:1400], X[-397:], (8, 8)
    directory = Path(data_root or ".") / name
    try:
        X_train, _, X_test, _ = load_mnist_format(directory)
    except DataError as exc:
        print(f"skipping {name}: {exc}", flush=True)
        return None
    return X_train, X_test[:n_test], (28, 28)


def sse_per_row(X, reconstruction):
    """Squared error summed over the features of each row, averaged over the rows."""
    diff = np.asarray(reconstruction, dtype=np.float64) - np.asarray(X, dtype=np.float64)
    return float((diff**2).sum(axis=1).mean())


def make_estimator(kind, n_components, seed, shape, variant, extra):
    """A default skae estimator of ``kind`` with the variant's and the command line's settings."""
    from skae import Autoencoder, ConvolutionalArchitecture, DenoisingAutoencoder

    params = {"random_state": seed, **VARIANTS[variant]}
    if kind == "denoising":
        estimator = DenoisingAutoencoder(n_components, **params)
    else:
        if kind == "conv":
            params["architecture"] = ConvolutionalArchitecture(image_shape=shape)
        estimator = Autoencoder(n_components, **params)
    # set_params, so that a probe can reach the architecture's parameters too
    # (--set architecture__upsampling=transposed).
    return estimator.set_params(**extra)


def run_cell(dataset, X, X_test, shape, k, seed, fits, args):
    """Fit PCA and the given ``(estimator, variant)`` fits on one subset; return their rows."""
    from skae.nn import ConvEncoder

    torch.set_num_threads(args.threads)
    n_train = len(X)
    pca = PCA(k, random_state=seed).fit(X)
    pca_sse = sse_per_row(X_test, pca.inverse_transform(pca.transform(X_test)))
    rows = []
    for kind, variant in fits:
        estimator = make_estimator(kind, k, seed, shape, variant, args.extra)
        start = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(X)
        seconds = time.process_time() - start
        sse = sse_per_row(X_test, estimator.inverse_transform(estimator.transform(X_test)))
        # A fit that ends as PCA reports PCA's held-out error as its own.
        kept = getattr(estimator, "validation_mse_", None) == getattr(
            estimator, "pca_validation_mse_", False
        )
        # A convolutional fit can keep the MLP its pixel path holds.
        kept_mlp = kind == "conv" and not any(
            isinstance(module, ConvEncoder) for module in estimator.net_.module_.modules()
        )
        rows.append(
            {
                "dataset": dataset,
                "n_train": n_train,
                "n_components": k,
                "seed": seed,
                "estimator": kind,
                "variant": variant,
                "pca_sse": pca_sse,
                "sse": sse,
                "ratio": sse / pca_sse,
                "epochs": estimator.n_iter_,
                "kept_pca": kept,
                "fit_seconds": seconds,
                "kept_mlp": kept_mlp,
            }
        )
        print(
            f"{dataset} n={n_train} k={k} seed={seed} {kind}/{variant}: "
            f"PCA {pca_sse:.3f}, skae {sse:.3f}, ratio {sse / pca_sse:.3f}, "
            f"{estimator.n_iter_} epochs{' (kept PCA)' if kept else ''}"
            f"{' (kept its MLP)' if kept_mlp else ''}, {seconds:.1f}s",
            flush=True,
        )
    return rows


def cells(args):
    """Every ``(dataset, X, X_test, shape, k, seed, fits)`` the command line asks for."""
    for dataset in args.datasets:
        loaded = load(dataset, args.data_root, args.n_test)
        if loaded is None:
            continue
        pool, X_test, shape = loaded
        for size in args.sizes:
            n_train = len(pool) if size == "full" else int(size)
            if n_train > len(pool) or (size != "full" and n_train == len(pool)):
                continue
            fits = [
                (kind, variant)
                for kind in args.estimators
                if (size != "full" or kind in args.full_for)
                and (kind != "conv" or shape is not None)
                for variant in ("default", "previous")
                if variant == "default"
                or (kind in args.previous and n_train <= args.previous_max_rows)
            ]
            if not fits:
                continue
            seeds = args.seeds if n_train < args.large else args.seeds[: args.large_seeds]
            for k in args.n_components:
                if k >= pool.shape[1]:
                    continue
                for seed in seeds:
                    rng = np.random.RandomState(seed)
                    X = pool[np.sort(rng.choice(len(pool), n_train, replace=False))]
                    yield dataset, X, X_test, shape, k, seed, fits


def markdown(rows, args, machine, elapsed):
    """The worst ratio over the seeds in each cell, one table per dataset."""
    columns = list(dict.fromkeys((r["estimator"], r["variant"]) for r in rows))
    lines = [
        "## Never worse than PCA: test reconstruction error / PCA's, worst over the seeds",
        "",
        f"Machine: {machine}; total {elapsed / 60:.1f} min. Command: "
        f"`python benchmarks/never_worse_than_pca.py {shlex.join(args.argv)}`",
        "",
        "Each cell: the largest ratio over the seeds (their number in brackets); "
        "below 1 the estimator reconstructs the test rows better than PCA with the same "
        'number of components. `previous` = the defaults before `init="auto"`, '
        '`early_stopping="auto"` and `learning_rate="adaptive"` (`init="random", '
        'early_stopping=False, learning_rate="constant"`). PCA\'s error '
        "(squared error per test row) is the median over the seeds.",
        "",
    ]
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        lines += [
            f"### {dataset}",
            "",
            "| rows | k | PCA SSE | " + " | ".join(f"{k} ({v})" for k, v in columns) + " |",
            "|---:|---:|---:|" + "---:|" * len(columns),
        ]
        cells = dict.fromkeys(
            (r["n_train"], r["n_components"]) for r in rows if r["dataset"] == dataset
        )
        for n, k in cells:
            here = [
                r
                for r in rows
                if (r["dataset"], r["n_train"], r["n_components"]) == (dataset, n, k)
            ]
            pca = np.median([r["pca_sse"] for r in here])
            values = []
            for kind, variant in columns:
                ratios = [
                    r["ratio"] for r in here if (r["estimator"], r["variant"]) == (kind, variant)
                ]
                values.append(f"{max(ratios):.3f} ({len(ratios)})" if ratios else "")
            lines.append(f"| {n} | {k} | {pca:.3f} | " + " | ".join(values) + " |")
        lines.append("")
    return "\n".join(lines)


def plot(rows, args, path):
    """Worst ratio against the number of training rows: a panel per dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        here = [r for r in rows if r["dataset"] == dataset]
        for kind, variant in dict.fromkeys((r["estimator"], r["variant"]) for r in here):
            for k in sorted({r["n_components"] for r in here}):
                points = {}
                for r in here:
                    if (r["estimator"], r["variant"], r["n_components"]) == (kind, variant, k):
                        points[r["n_train"]] = max(points.get(r["n_train"], 0), r["ratio"])
                if points:
                    sizes = sorted(points)
                    style = "-" if variant == "default" else ":"
                    ax.plot(
                        sizes,
                        [points[n] for n in sizes],
                        style,
                        marker="o",
                        label=f"{kind} {variant} k={k}",
                    )
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.axhline(1.02, color="red", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        ax.set_xlabel("training rows")
        ax.set_ylabel("test reconstruction error / PCA's (worst seed)")
        ax.set_title(dataset)
    axes[0][-1].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--datasets", nargs="+", default=["digits"], choices=[*IMAGES, *TABULAR])
    parser.add_argument(
        "--data-root", default=None, help="directory holding mnist/ and fashion-mnist/ (IDX files)"
    )
    parser.add_argument("--sizes", nargs="+", default=["100", "300", "1000", "10000", "full"])
    parser.add_argument("--n-components", nargs="+", type=int, default=[2, 10, 30])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--large", type=int, default=10000, help="sizes from here up: fewer seeds")
    parser.add_argument("--large-seeds", type=int, default=1)
    parser.add_argument(
        "--estimators", nargs="+", default=["autoencoder", "denoising", "conv"], choices=ESTIMATORS
    )
    parser.add_argument(
        "--previous",
        nargs="*",
        default=["autoencoder"],
        choices=ESTIMATORS,
        help="estimators also fitted with the previous defaults",
    )
    parser.add_argument("--previous-max-rows", type=int, default=10000)
    parser.add_argument(
        "--full-for",
        nargs="*",
        default=["autoencoder"],
        choices=ESTIMATORS,
        help="estimators fitted on the full training sets",
    )
    parser.add_argument("--jobs", type=int, default=1, help="cells fitted in parallel")
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        dest="extra",
        help="extra estimator parameters, key=value (probes only)",
    )
    parser.add_argument("--name", default="never_worse_than_pca")
    parser.add_argument("--output-dir", default=str(Path(__file__).resolve().parent / "results"))
    parser.add_argument("--no-figures", action="store_true")
    args = parser.parse_args(argv)
    args.extra = parameters_from_pairs(args.extra)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    machine = (
        f"{__import__('os').cpu_count()}-core CPU ({platform.machine()}), torch "
        f"{torch.__version__}, torch.set_num_threads({args.threads})"
    )
    start = time.perf_counter()
    parts = Parallel(n_jobs=args.jobs)(delayed(run_cell)(*cell, args) for cell in cells(args))
    rows = [row for part in parts for row in part]
    if not rows:
        raise DataError("no dataset could be loaded; see the messages above.")
    elapsed = time.perf_counter() - start
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(rows, args, machine, elapsed)
    print(text)
    (out / f"{args.name}.md").write_text(text)
    with open(out / f"{args.name}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    if not args.no_figures:
        plot(rows, args, out / f"{args.name}.png")
    print(f"wrote {out / args.name}.md, .csv{'' if args.no_figures else ' and .png'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_or_exit(main))
