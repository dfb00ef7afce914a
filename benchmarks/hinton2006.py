"""Hinton & Salakhutdinov (2006) on MNIST with skae: the 30-D table row, the 2-D map, the VAE.

1. **The number.** A 784-1000-500-250-30 ``Autoencoder`` against PCA with 30
   components: the squared reconstruction error summed over the 784 pixels
   (scaled to [0, 1]) and averaged over all the test images. Published on
   MNIST: 3.00 for the autoencoder, 8.01 for logistic PCA, 13.87 for PCA. The
   test error is also recorded every ``--curve-every`` epochs (a callback that
   scores the test images; its time is left out of the fit time).
2. **The map (Fig. 3).** The 784-1000-500-250-2 stack's codes of 500 test
   images per class beside PCA's first two components, with the 5-NN
   accuracy of each 2-D code (a classifier trained on the training codes,
   scored on every test image).
3. **The challenge.** A ``VariationalAutoencoder`` with a 2-D latent space:
   the latent means of the same test images, beside the deterministic map
   (same colours, same 5-NN score), and the images decoded over a regular
   grid of the latent plane, spaced by the inverse normal CDF.

The recipe is nothing but the estimators' documented parameters; the
defaults below are the ones measured to reach the paper's figure (the
benchmarks README gives the search)::

    Autoencoder(n_components=30, hidden_layer_sizes=(1000, 500, 250), loss="bce",
                pretraining="greedy", pretraining_max_iter=3, max_iter=100,
                batch_size=100, learning_rate="cosine", alpha=1e-5,
                early_stopping=False, tol=0.0, random_state=0)

The 2-D stack of the map has the same recipe without the weight decay
(``alpha`` was measured on the 30-D stack only) and 30 epochs.

Every number in the results files comes from one run of this script, with
the command line written beside it. It reads any MNIST-format directory
(MNIST or Fashion-MNIST); nothing is downloaded, and without the files it
stops with a one-line message.

Examples
--------
::

    python benchmarks/hinton2006.py --data-dir ../shared/data/mnist
    python benchmarks/hinton2006.py --data-dir ../shared/data/mnist --what 30 --threads 2
    python benchmarks/hinton2006.py --data-dir DIR --max-iter 10 --n-train 10000 --what 30
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
from sklearn.neighbors import KNeighborsClassifier
from skorch.callbacks import Callback

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import DataError, load_mnist_format, run_or_exit  # noqa: E402

HIDDEN = (1000, 500, 250)
PUBLISHED_MNIST = {"autoencoder": 3.00, "logistic PCA": 8.01, "PCA": 13.87}
PER_CLASS_SHOWN = 500


def sse_per_image(X, reconstruction):
    """Squared error summed over the pixels of each image, averaged over the images."""
    diff = np.asarray(reconstruction, dtype=np.float64) - np.asarray(X, dtype=np.float64)
    return float((diff**2).sum(axis=1).mean())


def knn_accuracy(codes_train, y_train, codes_test, y_test):
    """Test accuracy of a 5-nearest-neighbour classifier on the codes."""
    return float(KNeighborsClassifier(5).fit(codes_train, y_train).score(codes_test, y_test))


class TestCurve(Callback):
    """Score the test images every ``every`` epochs; keep its own time apart.

    Scores the module directly in evaluation mode, so it changes nothing in
    the fit (no random draws, no state).
    """

    def __init__(self, X_test, every):
        self.X_test = X_test
        self.every = every

    def initialize(self):
        self.points_ = []
        self.seconds_ = 0.0
        return self

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if epoch % self.every and epoch != net.max_epochs:
            return
        start = time.perf_counter()
        module = net.module_
        was_training = module.training
        module.eval()
        with torch.inference_mode():
            parts = []
            for i in range(0, len(self.X_test), 2000):
                batch = torch.from_numpy(self.X_test[i : i + 2000]).to(net.device)
                parts.append(module.decode(module.encode(batch)).cpu().numpy())
        module.train(was_training)
        error = sse_per_image(self.X_test, np.concatenate(parts))
        self.points_.append((epoch, error, float(net.history[-1, "train_loss"])))
        self.seconds_ += time.perf_counter() - start
        print(f"  epoch {epoch}: test SSE per image {error:.3f}", flush=True)


def make_autoencoder(n_components, args, max_iter, alpha=0.0):
    """The stack ``784-1000-500-250-n_components`` of the command line's recipe."""
    from skae import Autoencoder

    return Autoencoder(
        n_components=n_components,
        hidden_layer_sizes=HIDDEN,
        activation=args.activation,
        loss=args.loss,
        pretraining=None if args.pretraining == "none" else args.pretraining,
        pretraining_max_iter=args.pretraining_max_iter,
        max_iter=max_iter,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate_schedule,
        learning_rate_init=args.learning_rate,
        alpha=alpha,
        early_stopping=False,
        tol=0.0,
        random_state=args.random_state,
        device=args.device,
        verbose=int(args.verbose),
    )


def make_vae(args):
    """The 2-D VAE of the challenge."""
    from skae import VariationalAutoencoder

    return VariationalAutoencoder(
        n_components=2,
        hidden_layer_sizes=args.vae_hidden,
        loss="bce",
        max_iter=args.vae_max_iter,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate_schedule,
        early_stopping=False,
        tol=0.0,
        random_state=args.random_state,
        device=args.device,
        verbose=int(args.verbose),
    )


def recipe(estimator):
    """The estimator's ``n_components`` and non-default parameters, as Python source."""
    defaults = type(estimator)().get_params(deep=False)
    params = estimator.get_params(deep=False)
    shown = [f"n_components={params.pop('n_components')!r}"]
    skip = {"verbose", "callbacks"}
    shown += [f"{k}={v!r}" for k, v in params.items() if v != defaults[k] and k not in skip]
    return f"{type(estimator).__name__}({', '.join(shown)})"


def fit(estimator, X_train, curve=None):
    """Fit; return ``(seconds without the curve's scoring, seconds per epoch, curve)``."""
    if curve is not None:
        estimator.set_params(callbacks=[("test_curve", curve)])
    print(f"fitting {recipe(estimator)} on {len(X_train)} rows", flush=True)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*max_iter.*")
        estimator.fit(X_train)
    seconds = time.perf_counter() - start
    fitted_curve = dict(estimator.net_.callbacks_).get("test_curve")
    if fitted_curve is not None:
        seconds -= fitted_curve.seconds_
    epochs = [row["dur"] for row in estimator.net_.history if "train_loss" in row]
    per_epoch = float(np.median(epochs)) if epochs else float("nan")
    return seconds, per_epoch, fitted_curve.points_ if fitted_curve is not None else []


def row(method, k, recipe_text, **values):
    base = {
        "method": method,
        "n_components": k,
        "recipe": recipe_text,
        "epochs": "",
        "fit_seconds": "",
        "seconds_per_epoch": "",
        "train_sse_per_image": "",
        "test_sse_per_image": "",
        "knn_accuracy_2d": "",
    }
    return {**base, **values}


def run_30(data, args, rows, curves):
    """The 30-D comparison: PCA, then the stack with its test-error curve."""
    X_train, _, X_test, _ = data
    start = time.perf_counter()
    pca = PCA(30, random_state=args.random_state).fit(X_train)
    pca_seconds = time.perf_counter() - start
    rows.append(
        row(
            "PCA",
            30,
            "PCA(n_components=30)",
            fit_seconds=pca_seconds,
            train_sse_per_image=sse_per_image(
                X_train, pca.inverse_transform(pca.transform(X_train))
            ),
            test_sse_per_image=sse_per_image(X_test, pca.inverse_transform(pca.transform(X_test))),
        )
    )
    print(f"PCA(30): test SSE per image {rows[-1]['test_sse_per_image']:.2f}", flush=True)
    if args.pca_only:
        return
    ae = make_autoencoder(30, args, args.max_iter, alpha=args.alpha)
    seconds, per_epoch, curve = fit(ae, X_train, TestCurve(X_test, args.curve_every))
    curves["30"] = curve
    rows.append(
        row(
            "Autoencoder",
            30,
            recipe(ae.set_params(callbacks=None)),
            epochs=ae.n_iter_,
            fit_seconds=seconds,
            seconds_per_epoch=per_epoch,
            train_sse_per_image=sse_per_image(X_train, ae.inverse_transform(ae.transform(X_train))),
            test_sse_per_image=sse_per_image(X_test, ae.inverse_transform(ae.transform(X_test))),
        )
    )
    print(
        f"Autoencoder 784-1000-500-250-30: test SSE per image "
        f"{rows[-1]['test_sse_per_image']:.2f} (train {rows[-1]['train_sse_per_image']:.2f}) "
        f"after {ae.n_iter_} epochs, {seconds:.0f}s ({per_epoch:.1f}s per epoch)",
        flush=True,
    )


def shown_rows(y, seed):
    """Indices of up to 500 test images per class, the same for every map."""
    rng = np.random.RandomState(seed)
    picked = [
        rng.permutation(np.flatnonzero(y == label))[:PER_CLASS_SHOWN] for label in np.unique(y)
    ]
    return np.sort(np.concatenate(picked))


def run_maps(data, args, rows, maps):
    """PCA's first two components, the 2-D stack and the 2-D VAE: codes and 5-NN accuracy."""
    X_train, y_train, X_test, y_test = data
    pca = PCA(2, random_state=args.random_state).fit(X_train)
    maps["PCA, first two components"] = pca.transform(X_test)
    rows.append(
        row(
            "PCA",
            2,
            "PCA(n_components=2)",
            test_sse_per_image=sse_per_image(X_test, pca.inverse_transform(pca.transform(X_test))),
            knn_accuracy_2d=knn_accuracy(
                pca.transform(X_train), y_train, pca.transform(X_test), y_test
            ),
        )
    )
    print(f"PCA(2): 5-NN accuracy {rows[-1]['knn_accuracy_2d']:.3f}", flush=True)
    if args.pca_only:
        return
    candidates = []
    if args.what in ("2", "all"):
        candidates.append(
            (
                "Autoencoder",
                "784-1000-500-250-2 autoencoder",
                make_autoencoder(2, args, args.map_max_iter),
            )
        )
    if args.what in ("vae", "all"):
        hidden = "-".join(str(h) for h in args.vae_hidden)
        candidates.append(
            ("VariationalAutoencoder", f"784-{hidden}-2 VAE (latent means)", make_vae(args))
        )
    for method, title, estimator in candidates:
        seconds, per_epoch, _ = fit(estimator, X_train)
        codes = estimator.transform(X_test)
        maps[title] = codes
        if method == "VariationalAutoencoder":
            maps["_vae"] = estimator
        rows.append(
            row(
                method,
                2,
                recipe(estimator),
                epochs=estimator.n_iter_,
                fit_seconds=seconds,
                seconds_per_epoch=per_epoch,
                test_sse_per_image=sse_per_image(X_test, estimator.inverse_transform(codes)),
                knn_accuracy_2d=knn_accuracy(estimator.transform(X_train), y_train, codes, y_test),
            )
        )
        print(
            f"{title}: 5-NN accuracy {rows[-1]['knn_accuracy_2d']:.3f} after "
            f"{estimator.n_iter_} epochs, {seconds:.0f}s",
            flush=True,
        )


def plot_curve(curve, path, name):
    """Test (and training-loss) curve of the 30-D stack against the epochs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs, test, _ = zip(*curve, strict=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, test, marker="o", label="784-1000-500-250-30 autoencoder (skae)")
    for label, value in PUBLISHED_MNIST.items():
        ax.axhline(value, linestyle="--", linewidth=0.8, color="grey")
        ax.text(
            epochs[-1],
            value,
            f" {label}, published: {value:.2f}",
            va="bottom",
            ha="right",
            fontsize=8,
        )
    ax.set_yscale("log")
    ax.set_xlabel("fine-tuning epoch")
    ax.set_ylabel("test squared error per image")
    ax.set_title(f"{name}: test error during fine-tuning")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_maps(maps, rows, y, shown, path, name):
    """The 2-D codes of 500 test images per class, side by side, with each 5-NN accuracy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = [t for t in maps if not t.startswith("_")]
    scores = [r["knn_accuracy_2d"] for r in rows if r["n_components"] == 2]
    fig, axes = plt.subplots(1, len(titles), figsize=(5 * len(titles), 4.8), squeeze=False)
    for ax, title, score in zip(axes[0], titles, scores, strict=True):
        codes = maps[title][shown]
        scatter = ax.scatter(codes[:, 0], codes[:, 1], c=y[shown], cmap="tab10", s=2, alpha=0.6)
        ax.set_title(f"{title}\n5-NN accuracy {score:.3f}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(scatter, ax=axes[0].tolist(), ticks=range(10), label="class")
    fig.suptitle(f"{name}: 2-D codes of {PER_CLASS_SHOWN} test images per class (cf. Fig. 3)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_vae_grid(vae, path, name, n=15):
    """Images decoded over a regular grid of the latent plane, spaced by the normal CDF."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    values = norm.ppf(np.linspace(0.05, 0.95, n))
    grid = np.array([[x, y] for y in values[::-1] for x in values], dtype=np.float32)
    images = vae.inverse_transform(grid).reshape(n, n, 28, 28)
    canvas = images.transpose(0, 2, 1, 3).reshape(n * 28, n * 28)
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(canvas, cmap="gray_r")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{name}: the 2-D VAE decoded over its latent plane (normal quantiles 5%-95%)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(rows, curves, args, machine, elapsed):
    """The results as Markdown, with the published MNIST figures beside them."""
    lines = [
        f"## Hinton & Salakhutdinov (2006) on {args.name}",
        "",
        f"Command: `python benchmarks/hinton2006.py {shlex.join(args.argv)}`",
        "",
        f"{args.n_train_used} training rows, {args.n_test_used} test images; machine: {machine}; "
        f"total {elapsed / 60:.1f} min. Fit times leave out the test-curve scoring.",
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
    if curves.get("30"):
        lines += [
            "Test SSE per image during fine-tuning (30-D):",
            "",
            "| epoch | " + " | ".join(str(e) for e, _, _ in curves["30"]) + " |",
            "|---|" + "---:|" * len(curves["30"]),
            "| test SSE | " + " | ".join(f"{v:.2f}" for _, v, _ in curves["30"]) + " |",
            "",
        ]
    return "\n".join(lines)


def parse_args(argv=None):
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--data-dir", default=None, help="MNIST-format IDX files")
    parser.add_argument("--name", default=None, help="dataset name in outputs (default: dir name)")
    parser.add_argument("--what", choices=["30", "2", "vae", "all"], default="all")
    parser.add_argument("--max-iter", type=int, default=100, help="fine-tuning epochs, 30-D")
    parser.add_argument("--map-max-iter", type=int, default=30, help="fine-tuning epochs, 2-D")
    parser.add_argument("--n-train", type=int, default=None, help="first N training rows")
    parser.add_argument("--n-test", type=int, default=None, help="first N test rows")
    parser.add_argument("--activation", default="relu", help="hidden-layer activation")
    parser.add_argument("--loss", choices=["mse", "bce"], default="bce")
    parser.add_argument("--pretraining", choices=["none", "greedy"], default="greedy")
    parser.add_argument("--pretraining-max-iter", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="learning_rate_init")
    parser.add_argument(
        "--alpha", type=float, default=1e-5, help="L2 weight decay (alpha) of the 30-D stack"
    )
    parser.add_argument(
        "--learning-rate-schedule", choices=["constant", "cosine"], default="cosine"
    )
    parser.add_argument("--vae-hidden", type=int, nargs="+", default=[512, 256])
    parser.add_argument("--vae-max-iter", type=int, default=50)
    parser.add_argument("--curve-every", type=int, default=5, help="epochs between test scores")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--pca-only", action="store_true", help="only the PCA figures")
    parser.add_argument("--verbose", action="store_true", help="one line per epoch")
    parser.add_argument(
        "--output-dir",
        default=str(Path(__file__).resolve().parent / "results"),
        help="where the Markdown, CSV and figures go",
    )
    parser.add_argument("--no-figures", action="store_true")
    args = parser.parse_args(argv)
    args.vae_hidden = tuple(args.vae_hidden)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


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
    stem = f"hinton2006_{args.name}" + ("" if args.what == "all" else f"_{args.what}d")
    start = time.perf_counter()
    rows, curves, maps = [], {}, {}
    if args.what in ("30", "all"):
        run_30(data, args, rows, curves)
    if args.what in ("2", "vae", "all"):
        run_maps(data, args, rows, maps)
    elapsed = time.perf_counter() - start
    text = markdown(rows, curves, args, machine, elapsed)
    print()
    print(text)
    (out / f"{stem}.md").write_text(text)
    with open(out / f"{stem}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    if curves.get("30"):
        with open(out / f"{stem}_curve.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["epoch", "test_sse_per_image", "train_loss"])
            writer.writerows(curves["30"])
    if not args.no_figures:
        if curves.get("30"):
            plot_curve(curves["30"], out / f"{stem}_curve.png", args.name)
        if len([t for t in maps if not t.startswith("_")]) > 1:
            shown = shown_rows(y_test, args.random_state)
            plot_maps(maps, rows, y_test, shown, out / f"{stem}_2d.png", args.name)
        if "_vae" in maps:
            plot_vae_grid(maps["_vae"], out / f"{stem}_vae_grid.png", args.name)
    print(f"wrote {out / stem}.md and .csv")
    return 0


if __name__ == "__main__":
    sys.exit(run_or_exit(main))
