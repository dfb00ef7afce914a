"""The MNIST row of Hinton & Salakhutdinov (2006) with skae's ``Autoencoder``.

A 784-1000-500-250-30 autoencoder against PCA with 30 components: average
squared reconstruction error per test image, the error summed over the 784
pixels scaled to [0, 1] and averaged over the test images. Published on
MNIST: 3.00 for the (pretrained, fine-tuned) autoencoder, 8.01 for logistic
PCA and 13.87 for PCA. Also the 2-D variant (784-1000-500-250-2): its map of
the test images beside PCA's first two components, with the 5-NN accuracy
of each 2-D code as a number for how well the classes separate.

The recipe is nothing but the estimator's documented parameters::

    Autoencoder(hidden_layer_sizes=(1000, 500, 250), n_components=30,
                activation=..., loss=..., pretraining=..., max_iter=...,
                batch_size=..., learning_rate_init=..., random_state=0)

and is printed and written with the results. The script reads any
MNIST-format directory (MNIST or Fashion-MNIST) and runs unchanged on both;
nothing is downloaded. On a 2-core CPU such a stack costs seconds to tens
of seconds per epoch over 60,000 rows, so ``--max-iter`` and ``--n-train``
bound the budget; the per-epoch time is reported.

Examples
--------
::

    python benchmarks/hinton2006.py --data-dir ../shared/data/fashion-mnist
    python benchmarks/hinton2006.py --data-dir DIR --max-iter 20 --n-train 20000 --what 30
"""

import argparse
import csv
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import DataError, load_mnist_format, run_or_exit  # noqa: E402

HIDDEN = (1000, 500, 250)
PUBLISHED_MNIST = {"autoencoder": 3.00, "logistic PCA": 8.01, "PCA": 13.87}


def sse_per_image(X, reconstruction):
    """Squared error summed over the pixels of each image, averaged over the images."""
    diff = np.asarray(reconstruction, dtype=np.float64) - np.asarray(X, dtype=np.float64)
    return float((diff**2).sum(axis=1).mean())


def knn_accuracy(codes_train, y_train, codes_test, y_test):
    """Test accuracy of a 5-nearest-neighbour classifier on the codes."""
    return float(KNeighborsClassifier(5).fit(codes_train, y_train).score(codes_test, y_test))


def make_autoencoder(n_components, args):
    """The stack ``784-1000-500-250-n_components`` from the command line's recipe."""
    from skae import Autoencoder

    return Autoencoder(
        n_components=n_components,
        hidden_layer_sizes=HIDDEN,
        activation=args.activation,
        code_activation="identity",
        loss=args.loss,
        pretraining=None if args.pretraining == "none" else args.pretraining,
        pretraining_max_iter=args.pretraining_max_iter,
        max_iter=args.max_iter,
        batch_size=args.batch_size,
        learning_rate_init=args.learning_rate,
        tol=0.0,
        n_iter_no_change=args.max_iter,
        random_state=args.random_state,
        device=args.device,
        verbose=int(args.verbose),
    )


def recipe(estimator):
    """The estimator's ``n_components`` and non-default parameters, as Python source."""
    defaults = type(estimator)().get_params()
    params = estimator.get_params()
    shown = [f"n_components={params.pop('n_components')!r}"]
    shown += [f"{k}={v!r}" for k, v in params.items() if v != defaults[k] and k != "verbose"]
    return f"{type(estimator).__name__}({', '.join(shown)})"


def fit_autoencoder(n_components, X_train, args):
    """Fit one stack; return ``(estimator, seconds, seconds per epoch)``."""
    estimator = make_autoencoder(n_components, args)
    print(f"fitting {recipe(estimator)} on {len(X_train)} rows", flush=True)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*max_iter.*")
        estimator.fit(X_train)
    seconds = time.perf_counter() - start
    epochs = [row.get("dur", np.nan) for row in estimator.net_.history if "train_loss" in row]
    per_epoch = float(np.median(epochs)) if epochs else float("nan")
    return estimator, seconds, per_epoch


def run_30(data, args, rows):
    """The 30-D comparison; appends result rows and returns them."""
    X_train, _, X_test, _ = data
    start = time.perf_counter()
    pca = PCA(30, random_state=args.random_state).fit(X_train)
    pca_seconds = time.perf_counter() - start
    rows.append(
        {
            "method": "PCA",
            "n_components": 30,
            "recipe": "PCA(n_components=30)",
            "epochs": "",
            "fit_seconds": pca_seconds,
            "seconds_per_epoch": "",
            "train_sse_per_image": sse_per_image(
                X_train, pca.inverse_transform(pca.transform(X_train))
            ),
            "test_sse_per_image": sse_per_image(
                X_test, pca.inverse_transform(pca.transform(X_test))
            ),
            "knn_accuracy_2d": "",
        }
    )
    print(f"PCA(30): test SSE per image {rows[-1]['test_sse_per_image']:.2f}", flush=True)
    if args.pca_only:
        return rows
    ae, seconds, per_epoch = fit_autoencoder(30, X_train, args)
    rows.append(
        {
            "method": "Autoencoder",
            "n_components": 30,
            "recipe": recipe(ae),
            "epochs": ae.n_iter_,
            "fit_seconds": seconds,
            "seconds_per_epoch": per_epoch,
            "train_sse_per_image": sse_per_image(
                X_train, ae.inverse_transform(ae.transform(X_train))
            ),
            "test_sse_per_image": sse_per_image(X_test, ae.inverse_transform(ae.transform(X_test))),
            "knn_accuracy_2d": "",
        }
    )
    print(
        f"Autoencoder 784-1000-500-250-30: test SSE per image {rows[-1]['test_sse_per_image']:.2f} "
        f"(train {rows[-1]['train_sse_per_image']:.2f}) after {ae.n_iter_} epochs, "
        f"{seconds:.0f}s ({per_epoch:.1f}s per epoch)",
        flush=True,
    )
    return rows


def run_2(data, args, rows, figure_path):
    """The 2-D map: the stack with a 2-D code beside PCA's first two components."""
    X_train, y_train, X_test, y_test = data
    pca = PCA(2, random_state=args.random_state).fit(X_train)
    pca_codes = pca.transform(X_test)
    rows.append(
        {
            "method": "PCA",
            "n_components": 2,
            "recipe": "PCA(n_components=2)",
            "epochs": "",
            "fit_seconds": "",
            "seconds_per_epoch": "",
            "train_sse_per_image": "",
            "test_sse_per_image": sse_per_image(X_test, pca.inverse_transform(pca_codes)),
            "knn_accuracy_2d": knn_accuracy(pca.transform(X_train), y_train, pca_codes, y_test),
        }
    )
    print(f"PCA(2): 5-NN accuracy on the codes {rows[-1]['knn_accuracy_2d']:.3f}", flush=True)
    if args.pca_only:
        return rows
    ae, seconds, per_epoch = fit_autoencoder(2, X_train, args)
    ae_codes = ae.transform(X_test)
    rows.append(
        {
            "method": "Autoencoder",
            "n_components": 2,
            "recipe": recipe(ae),
            "epochs": ae.n_iter_,
            "fit_seconds": seconds,
            "seconds_per_epoch": per_epoch,
            "train_sse_per_image": "",
            "test_sse_per_image": sse_per_image(X_test, ae.inverse_transform(ae_codes)),
            "knn_accuracy_2d": knn_accuracy(ae.transform(X_train), y_train, ae_codes, y_test),
        }
    )
    print(
        f"Autoencoder 784-1000-500-250-2: 5-NN accuracy on the codes "
        f"{rows[-1]['knn_accuracy_2d']:.3f} after {ae.n_iter_} epochs, {seconds:.0f}s",
        flush=True,
    )
    if figure_path is not None:
        plot_maps(pca_codes, ae_codes, y_test, rows[-2:], figure_path, args.name)
    return rows


def plot_maps(pca_codes, ae_codes, y, rows, path, name):
    """PCA's first two components beside the 2-D autoencoder codes, by class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
    titles = [
        f"PCA, first two components (5-NN acc. {rows[0]['knn_accuracy_2d']:.2f})",
        f"784-1000-500-250-2 autoencoder (5-NN acc. {rows[1]['knn_accuracy_2d']:.2f})",
    ]
    for ax, codes, title in zip(axes, (pca_codes, ae_codes), titles, strict=True):
        scatter = ax.scatter(codes[:, 0], codes[:, 1], c=y, cmap="tab10", s=2, alpha=0.6)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(scatter, ax=axes, ticks=range(10), label="class")
    fig.suptitle(f"{name}: 2-D codes of the test images (after Hinton & Salakhutdinov, 2006)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(rows, args, machine, elapsed):
    """The results as Markdown, with the published MNIST figures beside them."""
    lines = [
        f"## Hinton & Salakhutdinov (2006) on {args.name}",
        "",
        f"{args.n_train_used} training rows, {args.n_test_used} test images; machine: {machine}; "
        f"total {elapsed / 60:.1f} min.",
        "",
        "| method | code | recipe | epochs | fit (s) | s / epoch | train SSE / image "
        "| test SSE / image | 5-NN acc. of 2-D code |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]

    def fmt(value, spec):
        return format(value, spec) if isinstance(value, int | float) else str(value)

    for r in rows:
        lines.append(
            f"| {r['method']} | {r['n_components']} | `{r['recipe']}` | {r['epochs']} "
            f"| {fmt(r['fit_seconds'], '.0f')} | {fmt(r['seconds_per_epoch'], '.1f')} "
            f"| {fmt(r['train_sse_per_image'], '.2f')} | {fmt(r['test_sse_per_image'], '.2f')} "
            f"| {fmt(r['knn_accuracy_2d'], '.3f')} |"
        )
    lines += [
        "",
        "Published on MNIST (Science 313, 504-507): test SSE per image "
        + ", ".join(f"{k} {v:.2f}" for k, v in PUBLISHED_MNIST.items())
        + " (30-D codes).",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv=None):
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data-dir", default=None, help="MNIST-format IDX files (MNIST or Fashion-MNIST)"
    )
    parser.add_argument("--name", default=None, help="dataset name in outputs (default: dir name)")
    parser.add_argument("--what", choices=["30", "2", "both"], default="both")
    parser.add_argument("--max-iter", type=int, default=30, help="epochs of fine-tuning")
    parser.add_argument("--n-train", type=int, default=None, help="first N training rows")
    parser.add_argument("--n-test", type=int, default=None, help="first N test rows")
    parser.add_argument("--activation", default="relu", help="hidden-layer activation")
    parser.add_argument("--loss", choices=["mse", "bce"], default="mse")
    parser.add_argument("--pretraining", choices=["none", "greedy"], default="none")
    parser.add_argument("--pretraining-max-iter", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--pca-only", action="store_true", help="only the PCA figures")
    parser.add_argument("--verbose", action="store_true", help="one line per epoch")
    parser.add_argument(
        "--output-dir",
        default=str(Path(__file__).resolve().parent / "results"),
        help="where the Markdown, CSV and figure go",
    )
    parser.add_argument("--no-figures", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the benchmark; print and write the results."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    X_train, y_train, X_test, y_test = load_mnist_format(args.data_dir)
    if X_train.shape[1] != 784:
        raise DataError(f"expected 28x28 images (784 pixels), got {X_train.shape[1]} features.")
    X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    X_test, y_test = X_test[: args.n_test], y_test[: args.n_test]
    args.n_train_used, args.n_test_used = len(X_train), len(X_test)
    if args.name is None:
        args.name = Path(args.data_dir or ".").resolve().name or "idx"
    machine = (
        f"{__import__('os').cpu_count()}-core CPU ({platform.machine()}), torch "
        f"{torch.__version__}, torch.set_num_threads({args.threads}), device {args.device}"
    )
    print(f"{args.name}: {len(X_train)} training rows, {len(X_test)} test images; {machine}")
    data = (X_train, y_train, X_test, y_test)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"hinton2006_{args.name}"
    start = time.perf_counter()
    rows = []
    if args.what in ("30", "both"):
        run_30(data, args, rows)
    if args.what in ("2", "both"):
        figure = None if args.no_figures else out / f"{stem}_2d.png"
        run_2(data, args, rows, figure)
    elapsed = time.perf_counter() - start
    text = markdown(rows, args, machine, elapsed)
    print()
    print(text)
    suffix = "" if args.what == "both" else f"_{args.what}d"
    (out / f"{stem}{suffix}.md").write_text(text)
    with open(out / f"{stem}{suffix}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out / (stem + suffix)}.md and .csv")
    return 0


if __name__ == "__main__":
    sys.exit(run_or_exit(main))
