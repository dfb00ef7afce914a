"""PCA against every skae autoencoder family, as a reduction ahead of a classifier.

For each code size in ``--n-components`` this fits PCA and every estimator
family found in ``skae`` (new families join automatically) on the training
rows, then measures on the test rows:

- reconstruction error: mean squared error per pixel of
  ``inverse_transform(transform(X_test))``, and the same summed over the pixels
  of an image (the convention of Hinton & Salakhutdinov, 2006);
- downstream accuracy of KNeighborsClassifier (5 neighbours), SVC (RBF kernel)
  and RandomForestClassifier (100 trees) trained on the codes, each a
  ``Pipeline`` of the fitted reducer (frozen, so all three classifiers share
  one fit) and the classifier;
- the seconds the reducer's ``fit`` took.

Every method runs with its default parameters apart from ``n_components``,
``random_state`` and, for the autoencoders, ``max_iter`` when given. Output: a
table on stdout, a CSV and a Markdown table, and three figures (accuracy
against code size; 2-D codes of PCA beside the best autoencoder; test images
and their reconstructions) under ``--output-dir``.

Examples
--------
::

    python benchmarks/pca_vs_autoencoders.py           # digits, a few minutes on 2 cores
    python benchmarks/pca_vs_autoencoders.py --dataset fashion-mnist \\
        --data-dir ../shared/data/fashion-mnist --n-train 10000 --max-iter 30
"""

import argparse
import csv
import inspect
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import DataError, image_shape, load_dataset, run_or_exit  # noqa: E402

CLASSIFIERS = {
    "knn": lambda seed: KNeighborsClassifier(n_neighbors=5),
    "svc": lambda seed: SVC(kernel="rbf"),
    "rf": lambda seed: RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1),
}
COLUMNS = [
    "dataset",
    "method",
    "n_components",
    "fit_seconds",
    "n_iter",
    "test_mse",
    "test_sse_per_image",
    "acc_knn",
    "acc_svc",
    "acc_rf",
]


def discover_methods():
    """Return ``{name: class}``: PCA, then every public skae estimator family.

    Families are found in ``skae.__all__`` (subclasses of the skae base),
    so a family that lands later joins the comparison with no edit here.
    Aliases such as ``VAE`` are listed once.
    """
    import skae
    from skae._base import BaseAutoencoder

    methods = {"PCA": PCA}
    for name in skae.__all__:
        obj = getattr(skae, name, None)
        if (
            inspect.isclass(obj)
            and issubclass(obj, BaseAutoencoder)
            and obj not in methods.values()
        ):
            methods[obj.__name__] = obj
    return methods


def make_reducer(cls, n_components, seed, max_iter=None):
    """An unfitted reducer with default parameters but the code size and the seed."""
    params = {"n_components": n_components, "random_state": seed}
    if cls is not PCA and max_iter is not None:
        params["max_iter"] = max_iter
    return cls(**params)


def evaluate(cls, n_components, data, seed, max_iter=None):
    """Fit one reducer and measure it; return ``(row dict, fitted reducer)``."""
    X_train, y_train, X_test, y_test = data
    reducer = make_reducer(cls, n_components, seed, max_iter)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        reducer.fit(X_train)
    fit_seconds = time.perf_counter() - start
    codes_test = reducer.transform(X_test)
    reconstruction = np.asarray(reducer.inverse_transform(codes_test), dtype=np.float64)
    squared = (reconstruction - X_test) ** 2
    row = {
        "method": cls.__name__,
        "n_components": n_components,
        "fit_seconds": fit_seconds,
        "n_iter": getattr(reducer, "n_iter_", ""),
        "test_mse": float(squared.mean()),
        "test_sse_per_image": float(squared.sum(axis=1).mean()),
    }
    frozen = FrozenEstimator(reducer)
    for name, make in CLASSIFIERS.items():
        pipe = Pipeline([("reduce", frozen), (name, make(seed))])
        pipe.fit(X_train, y_train)
        row[f"acc_{name}"] = float(pipe.score(X_test, y_test))
    return row, reducer


# ------------------------------------------------------------------ output


def format_table(rows):
    """A fixed-width text table of the results, for stdout."""
    header = ["method", "k", "fit s", "iter", "test MSE", "SSE/img", "KNN", "SVC", "RF"]
    lines = [
        "{:<26} {:>3} {:>7} {:>5} {:>9} {:>8} {:>6} {:>6} {:>6}".format(*header),
    ]
    for r in rows:
        lines.append(
            f"{r['method']:<26} {r['n_components']:>3} {r['fit_seconds']:>7.1f} "
            f"{r['n_iter']!s:>5} {r['test_mse']:>9.5f} {r['test_sse_per_image']:>8.2f} "
            f"{r['acc_knn']:>6.3f} {r['acc_svc']:>6.3f} {r['acc_rf']:>6.3f}"
        )
    return "\n".join(lines)


def markdown_table(rows):
    """The results as a Markdown table, best value per code size in bold."""
    lines = [
        "| method | n_components | fit (s) | epochs | test MSE | test SSE / image "
        "| KNN acc | SVC acc | RF acc |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    best = {}
    for k in {r["n_components"] for r in rows}:
        group = [r for r in rows if r["n_components"] == k]
        best[k] = {
            "test_mse": min(r["test_mse"] for r in group),
            **{f"acc_{c}": max(r[f"acc_{c}"] for r in group) for c in CLASSIFIERS},
        }

    def cell(r, key, fmt):
        text = format(r[key], fmt)
        return f"**{text}**" if r[key] == best[r["n_components"]].get(key) else text

    for r in rows:
        lines.append(
            f"| {r['method']} | {r['n_components']} | {r['fit_seconds']:.1f} | {r['n_iter']} "
            f"| {cell(r, 'test_mse', '.5f')} | {r['test_sse_per_image']:.2f} "
            f"| {cell(r, 'acc_knn', '.3f')} | {cell(r, 'acc_svc', '.3f')} "
            f"| {cell(r, 'acc_rf', '.3f')} |"
        )
    return "\n".join(lines)


def goals(rows, n_components):
    """Check the benchmark's goals; return ``(text lines, all met)``.

    1. At 2 components, every autoencoder family's KNN accuracy is well above
       PCA's (by at least 0.05).
    2. At every size, the best family's reconstruction error is below PCA's.
    3. At 30 components, the best family's SVC accuracy at least matches PCA's.
    """
    lines, met = [], True
    if not any(r["method"] != "PCA" for r in rows) or not any(r["method"] == "PCA" for r in rows):
        return ["- (no goals: they compare PCA with at least one family)"], False

    def at(k):
        group = [r for r in rows if r["n_components"] == k]
        pca = next((r for r in group if r["method"] == "PCA"), None)
        return pca, [r for r in group if r["method"] != "PCA"]

    if 2 in n_components:
        pca, families = at(2)
        ok = all(r["acc_knn"] >= pca["acc_knn"] + 0.05 for r in families)
        met &= ok
        detail = ", ".join(f"{r['method']} {r['acc_knn']:.3f}" for r in families)
        lines.append(
            f"- {'MET' if ok else 'MISSED'}: at 2 components every family's KNN accuracy "
            f"well above PCA's {pca['acc_knn']:.3f} (by >= 0.05): {detail}."
        )
    for k in n_components:
        pca, families = at(k)
        best = min(families, key=lambda r: r["test_mse"])
        ok = best["test_mse"] < pca["test_mse"]
        met &= ok
        lines.append(
            f"- {'MET' if ok else 'MISSED'}: at {k} components the best family's test MSE "
            f"({best['method']}, {best['test_mse']:.5f}) below PCA's {pca['test_mse']:.5f}."
        )
    if 30 in n_components:
        pca, families = at(30)
        best = max(families, key=lambda r: r["acc_svc"])
        ok = best["acc_svc"] >= pca["acc_svc"]
        met &= ok
        lines.append(
            f"- {'MET' if ok else 'MISSED'}: at 30 components the best family's SVC accuracy "
            f"({best['method']}, {best['acc_svc']:.3f}) at least PCA's {pca['acc_svc']:.3f}."
        )
    return lines, met


def plot_accuracy(rows, path, title):
    """Accuracy against n_components: one panel per classifier, one line per method."""
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plt.subplots(1, len(CLASSIFIERS) + 1, figsize=(4.2 * (len(CLASSIFIERS) + 1), 3.8))
    panels = [(f"acc_{c}", f"{c.upper()} test accuracy") for c in CLASSIFIERS]
    panels.append(("test_mse", "test reconstruction MSE"))
    for ax, (key, label) in zip(axes, panels, strict=True):
        for method in methods:
            pts = sorted((r["n_components"], r[key]) for r in rows if r["method"] == method)
            style = {"color": "black", "linestyle": "--"} if method == "PCA" else {}
            ax.plot(*zip(*pts, strict=True), marker="o", label=method, **style)
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xticks(sorted({r["n_components"] for r in rows}))
        ax.set_xticklabels(sorted({r["n_components"] for r in rows}))
        ax.set_xlabel("n_components")
        ax.set_title(label, fontsize=10)
        if key == "test_mse":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_codes(pca_codes, ae_codes, ae_name, y, path, title):
    """2-D codes of PCA beside the best autoencoder, coloured by class."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
    for ax, codes, name in ((axes[0], pca_codes, "PCA"), (axes[1], ae_codes, ae_name)):
        scatter = ax.scatter(codes[:, 0], codes[:, 1], c=y, cmap="tab10", s=4, alpha=0.7)
        ax.set_title(f"{name}: 2-D codes of the test rows", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(scatter, ax=axes, ticks=range(10), label="class")
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reconstructions(X, reconstructions, shape, path, title):
    """A grid: the test images in the first row, each method's reconstructions below."""
    import matplotlib.pyplot as plt

    rows = [("original", X), *reconstructions.items()]
    n = len(X)
    fig, axes = plt.subplots(
        len(rows), n, figsize=(0.9 * n + 1.8, 0.95 * len(rows) + 0.4), squeeze=False
    )
    for i, (name, images) in enumerate(rows):
        for j in range(n):
            ax = axes[i, j]
            ax.imshow(np.clip(images[j].reshape(shape), 0, 1), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -------------------------------------------------------------------- main


def parse_args(argv=None):
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--dataset", choices=["digits", "fashion-mnist", "mnist"], default="digits")
    parser.add_argument("--data-dir", default=None, help="MNIST-format IDX files (not digits)")
    parser.add_argument("--n-components", type=int, nargs="+", default=[2, 5, 10, 30])
    parser.add_argument(
        "--methods", nargs="+", default=None, help="only these methods (PCA, skae class names)"
    )
    parser.add_argument(
        "--max-iter", type=int, default=None, help="epochs of each autoencoder (default: its own)"
    )
    parser.add_argument("--n-train", type=int, default=None, help="use this many training rows")
    parser.add_argument("--n-test", type=int, default=None, help="use this many test rows")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument(
        "--output-dir",
        default=str(Path(__file__).resolve().parent / "results"),
        help="where the CSV, Markdown table and figures go",
    )
    parser.add_argument("--no-figures", action="store_true", help="skip the matplotlib figures")
    parser.add_argument(
        "--grid-components", type=int, default=None, help="code size of the reconstruction grid"
    )
    return parser.parse_args(argv)


def _subsample(X, y, n, seed):
    if n is None or n >= len(X):
        return X, y
    from sklearn.model_selection import train_test_split

    X, _, y, _ = train_test_split(X, y, train_size=n, stratify=y, random_state=seed)
    return X, y


def _shown_arguments(argv):
    """The command-line arguments as shown in the results: no local paths."""
    shown, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--output-dir", "--data-dir"):
            skip = True
            shown += [arg, "DIR"] if arg == "--data-dir" else []
        elif not arg.startswith(("--output-dir=", "--data-dir=")):
            shown.append(arg)
    return " ".join(shown)


def main(argv=None):
    """Run the comparison, print the table and write results and figures."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    X_train, y_train, X_test, y_test = load_dataset(args.dataset, args.data_dir)
    X_train, y_train = _subsample(X_train, y_train, args.n_train, args.random_state)
    X_test, y_test = _subsample(X_test, y_test, args.n_test, args.random_state)
    data = (X_train, y_train, X_test, y_test)

    methods = discover_methods()
    if args.methods:
        unknown = [m for m in args.methods if m not in methods]
        if unknown:
            raise DataError(f"unknown methods {unknown}; available: {list(methods)}")
        methods = {m: methods[m] for m in methods if m in args.methods or m == "PCA"}
    n_components = sorted(set(args.n_components))
    if n_components[0] < 1 or n_components[-1] > X_train.shape[1]:
        raise DataError(f"--n-components must lie in [1, {X_train.shape[1]}].")

    import skae

    machine = (
        f"{__import__('os').cpu_count()}-core CPU ({platform.machine()}), "
        f"Python {platform.python_version()}, torch {torch.__version__}, skae "
        f"{skae.__version__}, torch.set_num_threads({args.threads})"
    )
    print(
        f"{args.dataset}: {len(X_train)} training and {len(X_test)} test rows of "
        f"{X_train.shape[1]} features; methods {list(methods)}; n_components {n_components}",
        flush=True,
    )
    print(f"machine: {machine}", flush=True)

    rows, fitted = [], {}
    total = len(methods) * len(n_components)
    start_all = time.perf_counter()
    for k in n_components:
        for name, cls in methods.items():
            done = len(rows)
            print(f"[{done + 1:>2}/{total}] {name} n_components={k} ...", end=" ", flush=True)
            row, reducer = evaluate(cls, k, data, args.random_state, args.max_iter)
            row["method"] = name
            row["dataset"] = args.dataset
            rows.append(row)
            fitted[name, k] = reducer
            print(
                f"fit {row['fit_seconds']:.1f}s, MSE {row['test_mse']:.5f}, KNN "
                f"{row['acc_knn']:.3f}, SVC {row['acc_svc']:.3f}, RF {row['acc_rf']:.3f} "
                f"(elapsed {time.perf_counter() - start_all:.0f}s)",
                flush=True,
            )
    elapsed = time.perf_counter() - start_all

    print()
    print(format_table(rows))
    goal_lines, _ = goals(rows, n_components)
    print()
    print("Goals:")
    print("\n".join(goal_lines))

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"pca_vs_autoencoders_{args.dataset}"
    with open(out / f"{stem}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for r in rows:
            writer.writerow({key: r[key] for key in COLUMNS})
    command = "python benchmarks/pca_vs_autoencoders.py " + _shown_arguments(
        argv if argv is not None else sys.argv[1:]
    )
    md = [
        f"## PCA against skae autoencoders on {args.dataset}",
        "",
        f"`{command.strip()}`: {len(X_train)} training rows, {len(X_test)} test rows, "
        f"{X_train.shape[1]} features in [0, 1]; every method with its default parameters "
        f"(random_state={args.random_state}"
        + (f", max_iter={args.max_iter}" if args.max_iter else "")
        + f"). Machine: {machine}. Total {elapsed / 60:.1f} min.",
        "",
        "Accuracy of KNN (5 neighbours), SVC (RBF) and a random forest (100 trees) "
        "trained on the codes of the training rows and scored on the test rows; "
        "best per code size in bold.",
        "",
        markdown_table(rows),
        "",
        "Goals:",
        "",
        *goal_lines,
        "",
    ]
    (out / f"{stem}.md").write_text("\n".join(md))
    written = [out / f"{stem}.csv", out / f"{stem}.md"]

    if not args.no_figures:
        try:
            import matplotlib

            matplotlib.use("Agg")
        except ImportError:
            print("matplotlib is not installed: figures skipped (pip install -e '.[benchmarks]').")
        else:
            title = f"{args.dataset}: PCA vs skae autoencoders"
            plot_accuracy(rows, out / f"{stem}_accuracy.png", title)
            written.append(out / f"{stem}_accuracy.png")
            families = [r for r in rows if r["n_components"] == 2 and r["method"] != "PCA"]
            if families:
                best = max(families, key=lambda r: r["acc_knn"])["method"]
                plot_codes(
                    fitted["PCA", 2].transform(X_test),
                    fitted[best, 2].transform(X_test),
                    best,
                    y_test,
                    out / f"{stem}_codes2d.png",
                    f"{args.dataset}: 2-D codes (best autoencoder by 5-NN accuracy: {best})",
                )
                written.append(out / f"{stem}_codes2d.png")
            shape = image_shape(X_test.shape[1])
            if shape is not None:
                k = args.grid_components
                if k not in n_components:
                    k = 10 if 10 in n_components else n_components[len(n_components) // 2]
                picks = [int(np.flatnonzero(y_test == c)[0]) for c in np.unique(y_test)[:10]]
                images = X_test[picks]
                recon = {
                    f"{name}": fitted[name, k].inverse_transform(fitted[name, k].transform(images))
                    for name in methods
                }
                plot_reconstructions(
                    images,
                    recon,
                    shape,
                    out / f"{stem}_reconstructions.png",
                    f"{args.dataset}: test images and reconstructions, n_components={k}",
                )
                written.append(out / f"{stem}_reconstructions.png")
    print()
    print("wrote " + ", ".join(str(p) for p in written))
    median_fit = statistics.median(r["fit_seconds"] for r in rows)
    print(f"total {elapsed:.0f}s (median fit {median_fit:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(run_or_exit(main))
