"""Outlier detection: skae's AutoencoderOutlierDetector against scikit-learn's detectors and PyOD's.

Two protocols, each repeated over ``--seeds``:

- **tabular** (PyOD's benchmark protocol): the rows of a set, outliers
  included, are split 60/40 (stratified on the outlier label), standardised
  with a :class:`~sklearn.preprocessing.StandardScaler` fitted on the
  training part, every detector is fitted *unsupervised* on the training
  rows (which contain the outliers) and scores the test rows. Sets:
  ``breast-cancer`` (scikit-learn's, benign rows as inliers, the malignant
  class subsampled to ``--outlier-fraction`` of the rows, 5 % by default),
  ``wine`` (scikit-learn's, classes 1 and 2 as inliers, class 0 subsampled
  to 10 rows, as in the ODDS "wine" set) and ``synthetic`` (1,000 rows on a
  curved 4-dimensional surface in 30 dimensions, with 5 % of outliers drawn
  from another such surface: same marginals, other structure). The seed
  draws the subsample and the split.
- **one class against the rest** (the usual one-class protocol of Ruff et
  al., 2018): for each class in ``--classes``, the detectors are fitted on
  the training images of that class alone and score every test image; the
  other classes are the outliers. Pixels stay in [0, 1]. Sets: ``digits``
  (scikit-learn's 8x8 digits, split 75/25, the seed draws the split),
  ``mnist`` and ``fashion-mnist`` (their own training and test sets, read
  from ``--data-dir`` or ``../shared/data/<name>``; ``--n-train`` rows of
  the class and ``--n-test`` test rows, drawn by the seed).

Methods: ``skae`` (``AutoencoderOutlierDetector`` with its defaults),
``IsolationForest``, ``LOF`` (``LocalOutlierFactor(novelty=True)``),
``OCSVM`` (``OneClassSVM``), all with their defaults, and
``PyOD-AutoEncoder`` (``pyod.models.auto_encoder.AutoEncoder`` with its
defaults; skipped with a message when PyOD is not installed). The
``CANDIDATES`` below (``--methods candidates`` or their names) are the
configurations measured to choose the detector's defaults.

For each fit: ROC AUC and average precision of the outlier score on the
test rows (outliers as the positive class) and the fit's CPU seconds
(process time; one torch and one BLAS thread, so it counts the work and not
the waits on a shared machine). Output under ``--output-dir``:
``outliers.csv`` (one row per fit), ``outliers.md`` (means over seeds and
classes, per set, and the mean over the sets) and ``outliers.png`` (mean
ROC AUC per set and method).

Examples
--------
::

    python benchmarks/outliers.py --datasets breast-cancer wine synthetic digits
    python benchmarks/outliers.py --datasets mnist --classes 0 1 --n-train 1000 --n-test 2000
"""

import argparse
import csv
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _data import DataError, load_digits_split, load_mnist_format, run_or_exit  # noqa: E402

from skae import Autoencoder, AutoencoderOutlierDetector, DenoisingAutoencoder  # noqa: E402
from skae._outlier import _n_components_for_variance  # noqa: E402

TABULAR = ("breast-cancer", "wine", "synthetic")
IMAGES = ("digits", "mnist", "fashion-mnist")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
COLUMNS = ["dataset", "normal_class", "seed", "method", "roc_auc", "average_precision", "fit_cpu_s"]


# ------------------------------------------------------------------ datasets


def _subsample_outliers(X_in, X_out, n_out, rng):
    picked = rng.choice(len(X_out), size=n_out, replace=False)
    X = np.vstack([X_in, X_out[picked]])
    y = np.r_[np.zeros(len(X_in), dtype=int), np.ones(n_out, dtype=int)]
    return X, y


def tabular_rows(name, seed, outlier_fraction):
    """``(X, is_outlier)`` of a tabular set, its outliers drawn by ``seed``."""
    rng = np.random.default_rng(seed)
    if name == "breast-cancer":
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)  # 0 = malignant, 1 = benign
        X_in, X_out = X[y == 1], X[y == 0]
        n_out = max(2, round(outlier_fraction * len(X_in) / (1 - outlier_fraction)))
        return _subsample_outliers(X_in, X_out, n_out, rng)
    if name == "wine":
        from sklearn.datasets import load_wine

        X, y = load_wine(return_X_y=True)
        return _subsample_outliers(X[y != 0], X[y == 0], 10, rng)
    if name == "synthetic":
        return synthetic_rows(seed)
    raise DataError(f"unknown tabular set {name!r}; expected one of {TABULAR}.")


def synthetic_rows(seed, n=1000, n_features=30, latent=4, outlier_fraction=0.05):
    """Rows near a curved surface; outliers near another one with the same marginals.

    Inliers are ``tanh(z A) + noise`` with ``z`` standard normal in 4
    dimensions and ``A`` a fixed random (4, 30) matrix; outliers are
    ``tanh(z B) + noise`` with another matrix ``B`` of the same scale, so each
    feature alone has the same distribution for both and only their
    relations tell the outliers apart. The surfaces are fixed (seed 0);
    ``seed`` draws the points.
    """
    maps = np.random.default_rng(0).normal(size=(2, latent, n_features)) / np.sqrt(latent) * 1.5
    rng = np.random.default_rng(seed)
    n_out = int(round(outlier_fraction * n))
    z = rng.normal(size=(n, latent))
    X = np.tanh(z @ maps[0])
    X[:n_out] = np.tanh(z[:n_out] @ maps[1])
    X += 0.05 * rng.normal(size=X.shape)
    y = np.r_[np.ones(n_out, dtype=int), np.zeros(n - n_out, dtype=int)]
    return X, y


def tabular_task(name, seed, outlier_fraction):
    """PyOD's protocol: 60/40 split, standardised on the training part."""
    X, y = tabular_rows(name, seed, outlier_fraction)
    X_train, X_test, _, y_test = train_test_split(
        X, y, test_size=0.4, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_test


def image_split(name, seed, data_dir):
    if name == "digits":
        return load_digits_split(test_size=0.25, random_state=seed)
    if data_dir is None:
        data_dir = SHARED_DATA / name
    return load_mnist_format(data_dir)


def one_class_task(split, normal_class, seed, n_train, n_test):
    """Train on one class alone; test on every test image, the other classes as outliers."""
    X_train, y_train, X_test, y_test = split
    rng = np.random.default_rng(seed)
    X_train = X_train[y_train == normal_class]
    if n_train is not None and n_train < len(X_train):
        X_train = X_train[rng.choice(len(X_train), n_train, replace=False)]
    if n_test is not None and n_test < len(X_test):
        keep = rng.choice(len(X_test), n_test, replace=False)
        X_test, y_test = X_test[keep], y_test[keep]
    return X_train.astype(np.float64), X_test.astype(np.float64), (y_test != normal_class)


# ------------------------------------------------------------------- methods


def _pyod_autoencoder(seed, X):
    from pyod.models.auto_encoder import AutoEncoder

    return AutoEncoder(random_state=seed, verbose=0, device="cpu")


def pyod_available():
    try:
        import pyod  # noqa: F401
    except ImportError:
        return False
    return True


#: The detectors compared; each maps ``(seed, X_train)`` to an unfitted detector.
BASELINES = {
    "skae": lambda seed, X: AutoencoderOutlierDetector(random_state=seed),
    "IsolationForest": lambda seed, X: IsolationForest(random_state=seed),
    "LOF": lambda seed, X: LocalOutlierFactor(novelty=True),
    "OCSVM": lambda seed, X: OneClassSVM(),
    "PyOD-AutoEncoder": _pyod_autoencoder,
}


def _width(X, share):
    """The detector's rule for its default code width: axes explaining ``share`` of the variance."""
    return _n_components_for_variance(X, share)


def _pca(share, **params):
    return lambda seed, X: AutoencoderOutlierDetector(PCA(_width(X, share)), **params)


def _ae(cls=Autoencoder, share=0.7, hidden=(64,), ae_params=None, **params):
    def make(seed, X):
        ae = cls(
            _width(X, share), hidden_layer_sizes=hidden, random_state=seed, **(ae_params or {})
        )
        return AutoencoderOutlierDetector(ae, **params)

    return make


#: The configurations measured to choose AutoencoderOutlierDetector's defaults
#: (see the user guide's "Outlier detection" section for the figures).
CANDIDATES = {
    # skae's feature-extraction defaults (512 units, up to 200 epochs).
    "ae-library-defaults": lambda seed, X: AutoencoderOutlierDetector(
        Autoencoder(random_state=seed), score_type="reconstruction", reconstruction_error="mean"
    ),
    # The score and the code width, with PCA's reconstruction.
    "pca-0.5": _pca(0.5),
    "pca-0.7": _pca(0.7),
    "pca-0.9": _pca(0.9),
    "pca-0.7-reconstruction": _pca(0.7, score_type="reconstruction"),
    "pca-0.7-mean": _pca(0.7, reconstruction_error="mean"),
    # The network, its training and the trimming.
    "ae-64-untrimmed": _ae(trim_fraction=0.0),
    "ae-64-trim-0.1": _ae(trim_fraction=0.1),
    "ae-256": _ae(hidden=(256,)),
    "ae-64-random-init": _ae(ae_params={"init": "random"}),
    "dae-64-gaussian-0.3": _ae(
        DenoisingAutoencoder, ae_params={"noise": "gaussian", "noise_level": 0.3}
    ),
    # The other scores, with their default autoencoders.
    "vae-elbo": lambda seed, X: AutoencoderOutlierDetector(score_type="elbo", random_state=seed),
    "tied-energy": lambda seed, X: AutoencoderOutlierDetector(
        score_type="energy", random_state=seed
    ),
}


def normality(detector, X):
    """Scores of ``X``, higher for more normal rows, whatever the detector's convention."""
    if type(detector).__module__.startswith("pyod"):
        return -detector.decision_function(X)
    return detector.score_samples(X)


def run_one(make, seed, X_train, X_test, is_outlier):
    detector = make(seed, X_train)
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        detector.fit(X_train)
        fit_cpu = time.process_time() - start
        outlier_score = -normality(detector, X_test)
    return {
        "roc_auc": float(roc_auc_score(is_outlier, outlier_score)),
        "average_precision": float(average_precision_score(is_outlier, outlier_score)),
        "fit_cpu_s": fit_cpu,
    }


# -------------------------------------------------------------------- output


def summarise(rows, methods, datasets):
    """``{(dataset, method): (mean ROC AUC, std, mean AP, mean fit s, n)}`` and per-method means."""
    table = {}
    for d in datasets:
        for m in methods:
            group = [r for r in rows if r["dataset"] == d and r["method"] == m]
            if not group:
                continue
            aucs = [r["roc_auc"] for r in group]
            table[d, m] = (
                statistics.fmean(aucs),
                statistics.pstdev(aucs),
                statistics.fmean(r["average_precision"] for r in group),
                statistics.fmean(r["fit_cpu_s"] for r in group),
                len(group),
            )
    overall = {}
    for m in methods:
        cells = [table[d, m] for d in datasets if (d, m) in table]
        if len(cells) == len(datasets):
            overall[m] = tuple(statistics.fmean(c[i] for c in cells) for i in (0, 2, 3))
    return table, overall


def markdown(table, overall, methods, datasets, header):
    lines = [header, ""]
    lines.append(
        "| dataset | method | ROC AUC (mean ± sd) | average precision | fit CPU s | fits |"
    )
    lines.append("|---|---|---:|---:|---:|---:|")
    for d in datasets:
        best = max(table[d, m][0] for m in methods if (d, m) in table)
        for m in methods:
            if (d, m) not in table:
                continue
            auc, sd, ap, fit, n = table[d, m]
            text = f"{auc:.3f} ± {sd:.3f}"
            text = f"**{text}**" if auc == best else text
            lines.append(f"| {d} | {m} | {text} | {ap:.3f} | {fit:.2f} | {n} |")
    lines += ["", "Mean over the datasets (each dataset weighs the same):", ""]
    lines.append("| method | mean ROC AUC | mean average precision | mean fit CPU s |")
    lines.append("|---|---:|---:|---:|")
    for m, (auc, ap, fit) in sorted(overall.items(), key=lambda item: -item[1][0]):
        lines.append(f"| {m} | {auc:.3f} | {ap:.3f} | {fit:.2f} |")
    return "\n".join(lines)


def figure(table, methods, datasets, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(datasets), 4))
    width = 0.8 / len(methods)
    for i, m in enumerate(methods):
        xs = [j + (i - (len(methods) - 1) / 2) * width for j in range(len(datasets))]
        means = [table.get((d, m), (np.nan, 0))[0] for d in datasets]
        sds = [table.get((d, m), (0, 0))[1] for d in datasets]
        ax.bar(xs, means, width, yerr=sds, label=m, capsize=2)
    ax.set_xticks(range(len(datasets)), datasets)
    ax.set_ylabel("ROC AUC on the test rows")
    ax.set_ylim(0.4, 1.0)
    ax.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
    ax.legend(fontsize=8, ncol=2, loc="lower right")
    ax.set_title("Outlier detection: mean ROC AUC over seeds (and classes)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=["breast-cancer", "wine", "synthetic", "digits"],
        choices=[*TABULAR, *IMAGES],
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(BASELINES),
        help=f"from {list(BASELINES)} and {list(CANDIDATES)}, or 'candidates' for all of these",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--classes",
        type=int,
        nargs="+",
        default=list(range(10)),
        help="normal classes of the one-class sets",
    )
    parser.add_argument("--n-train", type=int, default=None, help="training images per class")
    parser.add_argument("--n-test", type=int, default=None, help="test images")
    parser.add_argument("--outlier-fraction", type=float, default=0.05, help="breast-cancer")
    parser.add_argument("--data-dir", default=None, help="IDX files of mnist / fashion-mnist")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    parser.add_argument(
        "--output-dir",
        default=str(Path(__file__).resolve().parent / "results"),
        help="where outliers.csv, outliers.md and outliers.png go",
    )
    parser.add_argument("--name", default="outliers", help="stem of the output files")
    parser.add_argument("--no-figure", action="store_true")
    return parser.parse_args(argv)


def resolve_methods(names):
    methods = []
    for name in names:
        methods += list(CANDIDATES) if name == "candidates" else [name]
    unknown = [m for m in methods if m not in BASELINES and m not in CANDIDATES]
    if unknown:
        raise DataError(
            f"unknown methods {unknown}; expected {list(BASELINES)} or {list(CANDIDATES)}."
        )
    if "PyOD-AutoEncoder" in methods and not pyod_available():
        print("PyOD is not installed (pip install pyod): skipping PyOD-AutoEncoder.", flush=True)
        methods.remove("PyOD-AutoEncoder")
    return list(dict.fromkeys(methods))


def tasks(args):
    """Yield ``(dataset, normal class or '', seed, X_train, X_test, is_outlier)``."""
    for name in args.datasets:
        for seed in args.seeds:
            if name in TABULAR:
                yield (name, "", seed, *tabular_task(name, seed, args.outlier_fraction))
                continue
            split = image_split(name, seed, args.data_dir)
            for c in args.classes:
                yield (name, c, seed, *one_class_task(split, c, seed, args.n_train, args.n_test))


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    methods = run_or_exit(resolve_methods, args.methods)
    import skae

    machine = (
        f"{os.cpu_count()}-core CPU ({platform.machine()}), Python {platform.python_version()}, "
        f"torch {torch.__version__}, skae {skae.__version__}, {args.threads} thread(s)"
    )
    print(f"machine: {machine}\nmethods: {methods}", flush=True)
    rows = []
    start = time.perf_counter()
    for dataset, normal, seed, X_train, X_test, is_outlier in run_or_exit(list, tasks(args)):
        for method in methods:
            make = BASELINES.get(method) or CANDIDATES[method]
            row = run_one(make, seed, X_train, X_test, is_outlier)
            row.update(dataset=dataset, normal_class=normal, seed=seed, method=method)
            rows.append(row)
            print(
                f"{dataset:>13} {normal!s:>2} seed {seed} {method:<22} AUC {row['roc_auc']:.3f} "
                f"AP {row['average_precision']:.3f} fit {row['fit_cpu_s']:6.2f}s "
                f"(elapsed {time.perf_counter() - start:.0f}s)",
                flush=True,
            )
    table, overall = summarise(rows, methods, args.datasets)
    shown = " ".join(a for a in (argv if argv is not None else sys.argv[1:]))
    header = (
        f"Command: `python benchmarks/outliers.py {shown}`\n\nMachine: {machine}. "
        f"Wall-clock {time.perf_counter() - start:.0f} s."
    )
    text = markdown(table, overall, methods, args.datasets, header)
    print("\n" + text)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{args.name}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({key: r[key] for key in COLUMNS} for r in rows)
    (out / f"{args.name}.md").write_text(text + "\n")
    if not args.no_figure:
        figure(table, methods, args.datasets, out / f"{args.name}.png")
    print(f"\nwrote {out / args.name}.csv, .md" + ("" if args.no_figure else ", .png"))


if __name__ == "__main__":
    main()
