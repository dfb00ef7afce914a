"""Pretrain, then fine-tune: an autoencoder's encoder as a classifier, against the baselines.

On each dataset (the digits, MNIST, Fashion-MNIST), for each number of
training labels (``--labels``: 100, 1,000 and ``all`` by default; the other
training rows are unlabelled, ``-1``) and each seed, the same test images
are classified by:

``fine-tuned``
    ``AutoencoderClassifier``: the autoencoder pretrained on every training
    row, its encoder fine-tuned with a softmax layer on the labelled rows.
``frozen encoder + head``
    ``AutoencoderClassifier(freeze_encoder=True)``: the same, but only the
    softmax layer learns (with the recipe's dropout on the code), on the
    pretrained encoder kept as it is.
``from scratch``
    The same network and fine-tuning, from PyTorch's default
    initialisation (``pretrain=False``): labelled rows only.
``fine-tuned + VAT`` / ``from scratch + VAT``
    The same two networks with virtual adversarial training
    (``vat_epsilon``, Miyato et al., 2018) on every training row, labelled
    or not, during fine-tuning: the way unlabelled rows shape the
    fine-tuning itself. Only on datasets whose recipe has a ``vat`` entry
    (the digits) or with ``--vat-epsilon``, at that ``vat_epsilon`` and the
    default learning rate, without a learning-rate search: its seven fits
    would each pass over every training row
    (``skae.SemiSupervisedStratifiedKFold`` keeps the unlabelled rows in
    every training set), where the other rows' searches fit the labelled
    rows alone, and on the digits no learning rate from 3e-4 to 3e-3 came
    clearly ahead (probes, ``docs/fine_tuning.rst``).
    ``--vat-set`` changes their parameters alone (``max_iter``, where a
    pass over every row is the expensive part; ``ema_decay``).
``frozen code + LR`` / ``frozen code + SVC``
    The pretrained autoencoder's codes, standardised, then
    ``LogisticRegression`` or an RBF ``SVC`` fitted on the labelled rows.
``PCA + SVC``
    ``PCA`` fitted on every training row, an RBF ``SVC`` on the labelled rows.
``LabelSpreading``
    scikit-learn's graph-based semi-supervised classifier (k-NN kernel) on
    the pixels, with every training row.

The autoencoder is pretrained once per dataset and seed, without labels, and
reused through ``sklearn.frozen.FrozenEstimator`` by every method that needs
it (so its time is reported once, in the ``pretraining`` rows). With few
labels (at most ``--cv-max-labels``), the fine-tuning learning rate of the three
network methods is chosen among ``--cv-learning-rates`` by 3-fold
cross-validation on the labelled rows (``GridSearchCV``); with more, the
dataset's fixed recipe is used. Test accuracy is averaged over the seeds;
the labelled subsets are balanced (the same number of rows per class) and
drawn anew for each seed.

The recipes (``RECIPES`` below) are nothing but documented estimator
parameters. MNIST and Fashion-MNIST use the network of Hinton &
Salakhutdinov (2006), 784-500-500-2000-10, whose pretrained version reached
1.2% test error on MNIST with all 60,000 labels (1.6% from random
initialisation, 1.4% for an SVM, in the same paper).

Writes ``fine_tuning_<dataset>.md`` / ``.csv`` / ``.png`` (accuracy against
the number of labels) under ``--output-dir``, ``_subset`` added to the name
with ``--n-train`` or ``--n-test``, and ``_denoising`` with ``--family
DenoisingAutoencoder``. Every script of this folder
calls ``torch.set_num_threads(--threads)``, 1 by default.

Examples
--------
::

    python benchmarks/fine_tuning.py                       # digits, a few minutes
    python benchmarks/fine_tuning.py --datasets mnist --data-dir mnist=../shared/data/mnist
    python benchmarks/fine_tuning.py --datasets mnist --n-train 6000 --n-test 2000 \\
        --labels 100 1000 all --seeds 1 --pretrain-epochs 3 --all-epochs 3   # a quick probe
    python benchmarks/fine_tuning.py --datasets mnist --labels all --seeds 1 \\
        --methods fine-tuned --set alpha=1e-4   # one fine-tuning parameter changed
    python benchmarks/fine_tuning.py --datasets mnist --labels all --seeds 1 \\
        --family DenoisingAutoencoder           # a stacked denoising autoencoder
    python benchmarks/fine_tuning.py --datasets mnist --labels all --seeds 1 \\
        --family DenoisingAutoencoder --pretrain-set noise_level=0.5   # at 50% masking
"""

import argparse
import csv
import os
import platform
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import DataError, load_dataset, parameters_from_pairs, run_or_exit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIRS = {
    "mnist": ROOT.parent / "shared" / "data" / "mnist",
    "fashion-mnist": ROOT.parent / "shared" / "data" / "fashion-mnist",
}
METHODS = [
    "fine-tuned",
    "frozen encoder + head",
    "from scratch",
    "fine-tuned + VAT",
    "from scratch + VAT",
    "frozen code + LR",
    "frozen code + SVC",
    "PCA + SVC",
    "LabelSpreading",
]
# The methods that train skae's network (their recipes are listed).
NETWORK_METHODS = [
    "fine-tuned",
    "frozen encoder + head",
    "from scratch",
    "fine-tuned + VAT",
    "from scratch + VAT",
]
# The autoencoders --family can pretrain (those whose parameters take the
# recipes), and what each adds to the names of the files written.
FAMILY_SUFFIXES = {"Autoencoder": "", "DenoisingAutoencoder": "_denoising"}
FAMILIES = list(FAMILY_SUFFIXES)
PUBLISHED_MNIST = {"pretrained 784-500-500-2000-10": 1.2, "SVM": 1.4, "random initialisation": 1.6}

# The paper's classification network, 784-500-500-2000, as an autoencoder:
# greedy layer-wise pretraining (the paper used RBMs), then the whole stack,
# ReLU units and a ReLU code (the 2000-unit layer is a hidden layer of the
# classifier), binary cross-entropy on the [0, 1] pixels (the recipe that
# reached 3.22 on the Hinton & Salakhutdinov reconstruction benchmark).
_HINTON = {
    "autoencoder": {
        "n_components": 2000,
        "hidden_layer_sizes": (500, 500),
        "code_activation": "relu",
        "loss": "bce",
        "pretraining": "greedy",
        "pretraining_max_iter": 3,
        "max_iter": 20,
        "learning_rate": "cosine",
        "batch_size": 100,
        "early_stopping": False,
        "tol": 0.0,
    },
    # <= --cv-max-labels: dropout (Srivastava et al., 2014), the learning
    # rate by CV; on all of MNIST it took the fine-tuned network from 0.774 /
    # 0.914 to 0.788 / 0.925 with 100 / 1,000 labels (results/few_labels/).
    "few": {"max_iter": 200, "dropout": 0.5, "input_dropout": 0.2},
    # More labels: a fixed budget with a cosine decay.
    "many": {"max_iter": 40, "learning_rate": "cosine", "tol": 0.0, "batch_size": 100},
    "pca_components": 50,
}
RECIPES = {
    "digits": {
        "autoencoder": {"n_components": 32},
        # Dropout, which helps the deep network below, cost this shallow one
        # accuracy (100 labels, three seeds: 0.876 against 0.897).
        "few": {"max_iter": 200},
        "many": {"max_iter": 200},
        # 0.3 of the spread of the rows (0.65 on the [0, 1] pixels).
        "vat": {"vat_epsilon": 0.3},
        "pca_components": 30,
    },
    "mnist": _HINTON,
    "fashion-mnist": _HINTON,
}


def balanced_subset(y, n_labels, seed):
    """Indices of ``n_labels`` rows, as many of each class as possible (all rows for None)."""
    if n_labels is None or n_labels >= len(y):
        return np.arange(len(y))
    rng = np.random.RandomState(seed)
    classes = np.unique(y)
    per_class = n_labels // len(classes)
    picked = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in classes]
    rest = np.setdiff1d(np.arange(len(y)), np.concatenate(picked))
    extra = rng.permutation(rest)[: n_labels - per_class * len(classes)]
    return np.sort(np.concatenate([*picked, extra]))


def recipe_text(estimator):
    """The estimator's non-default parameters, as Python source."""
    defaults = type(estimator)().get_params(deep=False)
    shown = [
        f"{k}={v!r}"
        for k, v in estimator.get_params(deep=False).items()
        if k not in ("autoencoder", "callbacks", "verbose") and v != defaults[k]
    ]
    return f"{type(estimator).__name__}({', '.join(shown)})"


def timed(function, *args):
    """``(function(*args), seconds)``, without the ConvergenceWarnings of a fixed budget."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = function(*args)
    return result, time.perf_counter() - start


class Run:
    """One dataset: its data, recipe and the rows of results."""

    def __init__(self, name, data, args):
        self.name = name
        self.X_train, self.y_train, self.X_test, self.y_test = data
        self.args = args
        self.recipe = dict(RECIPES[name])
        self.recipe["autoencoder"] = {**self.recipe["autoencoder"]}
        if args.pretrain_epochs is not None:
            self.recipe["autoencoder"]["max_iter"] = args.pretrain_epochs
        self.recipe["autoencoder"].update(args.pretrain_extra)
        if args.all_epochs is not None:
            self.recipe["many"] = {**self.recipe["many"], "max_iter": args.all_epochs}
        if args.vat_epsilon is not None:
            self.recipe["vat"] = {"vat_epsilon": args.vat_epsilon}
        if args.vat_extra and "vat" in self.recipe:
            self.recipe["vat"] = {**self.recipe["vat"], **args.vat_extra}
        self.rows = []

    def autoencoder(self, seed):
        import skae

        family = getattr(skae, self.args.family)
        return family(**self.recipe["autoencoder"], random_state=seed, device=self.args.device)

    def classifier(self, autoencoder, n_labels, seed, vat=False, **params):
        from skae import AutoencoderClassifier

        few = n_labels <= self.args.cv_max_labels
        recipe = {**self.recipe["few" if few else "many"], **self.args.extra}
        return AutoencoderClassifier(
            autoencoder,
            **{**recipe, **(self.recipe["vat"] if vat else {})},
            random_state=seed,
            device=self.args.device,
            **params,
        )

    def fit_network(self, clf, X, y, n_labels):
        """Fit ``clf``; with few labels, choose its learning rate by 3-fold CV first."""
        if n_labels > self.args.cv_max_labels:
            return timed(clf.fit, X, y)[1], clf, None
        grid = {"learning_rate_init": self.args.cv_learning_rates}
        search = GridSearchCV(clf, grid, cv=3)
        labelled = y != -1
        _, seconds = timed(search.fit, X[labelled], y[labelled])
        return seconds, search.best_estimator_, search.best_params_["learning_rate_init"]

    def add(self, method, n_labels, seed, accuracy, seconds, recipe="", chosen_lr=None):
        self.rows.append(
            {
                "dataset": self.name,
                "method": method,
                "labels": n_labels,
                "seed": seed,
                "accuracy": accuracy,
                "test_error_percent": 100 * (1 - accuracy) if accuracy != "" else "",
                "fit_seconds": seconds,
                "chosen_learning_rate": "" if chosen_lr is None else chosen_lr,
                "recipe": recipe,
            }
        )
        if accuracy != "":
            print(
                f"  {self.name} | {n_labels:>6} labels | seed {seed} | {method:<18} "
                f"accuracy {accuracy:.4f} ({seconds:.0f}s"
                + ("" if chosen_lr is None else f", lr {chosen_lr:g}")
                + ")",
                flush=True,
            )

    def run(self):
        args = self.args
        methods = args.methods
        n_train = len(self.y_train)
        labels = sorted({n_train if n == "all" else min(int(n), n_train) for n in args.labels})
        pca = None
        if "PCA + SVC" in methods:
            pca, _ = timed(PCA(self.recipe["pca_components"], random_state=0).fit, self.X_train)
            P_train, P_test = pca.transform(self.X_train), pca.transform(self.X_test)
        for seed in range(args.seeds):
            ae = None
            if set(methods) - {"from scratch", "from scratch + VAT", "PCA + SVC", "LabelSpreading"}:
                ae, seconds = timed(self.autoencoder(seed).fit, self.X_train)
                self.add("pretraining", n_train, seed, "", seconds, recipe_text(ae))
                print(f"  {self.name} | seed {seed} | pretraining {seconds:.0f}s", flush=True)
                Z_train, Z_test = ae.transform(self.X_train), ae.transform(self.X_test)
            for n_labels in labels:
                index = balanced_subset(self.y_train, n_labels, seed)
                y_semi = np.full_like(self.y_train, -1)
                y_semi[index] = self.y_train[index]
                for method, freeze in (("fine-tuned", False), ("frozen encoder + head", True)):
                    if method not in methods:
                        continue
                    clf = self.classifier(FrozenEstimator(ae), n_labels, seed)
                    clf.set_params(freeze_encoder=freeze)
                    seconds, clf, lr = self.fit_network(clf, self.X_train, y_semi, n_labels)
                    accuracy = clf.score(self.X_test, self.y_test)
                    self.add(method, n_labels, seed, accuracy, seconds, recipe_text(clf), lr)
                if "from scratch" in methods:
                    clf = self.classifier(self.autoencoder(seed), n_labels, seed, pretrain=False)
                    seconds, clf, lr = self.fit_network(clf, self.X_train, y_semi, n_labels)
                    accuracy = clf.score(self.X_test, self.y_test)
                    self.add(
                        "from scratch", n_labels, seed, accuracy, seconds, recipe_text(clf), lr
                    )
                for method, pretrained in (
                    ("fine-tuned + VAT", True),
                    ("from scratch + VAT", False),
                ):
                    if method not in methods or "vat" not in self.recipe:
                        continue
                    start = FrozenEstimator(ae) if pretrained else self.autoencoder(seed)
                    clf = self.classifier(start, n_labels, seed, vat=True, pretrain=pretrained)
                    _, seconds = timed(clf.fit, self.X_train, y_semi)
                    accuracy = clf.score(self.X_test, self.y_test)
                    self.add(method, n_labels, seed, accuracy, seconds, recipe_text(clf))
                for method, model in (
                    ("frozen code + LR", LogisticRegression(max_iter=1000)),
                    ("frozen code + SVC", SVC()),
                ):
                    if method in methods:
                        pipe = make_pipeline(StandardScaler(), model)
                        _, seconds = timed(pipe.fit, Z_train[index], y_semi[index])
                        accuracy = pipe.score(Z_test, self.y_test)
                        self.add(method, n_labels, seed, accuracy, seconds, str(model))
                if pca is not None:
                    svc, seconds = timed(SVC().fit, P_train[index], y_semi[index])
                    accuracy = svc.score(P_test, self.y_test)
                    recipe = f"PCA({self.recipe['pca_components']}) on all rows + SVC()"
                    self.add("PCA + SVC", n_labels, seed, accuracy, seconds, recipe)
                if "LabelSpreading" in methods:
                    spreading = LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100)
                    _, seconds = timed(spreading.fit, self.X_train, y_semi)
                    accuracy = spreading.score(self.X_test, self.y_test)
                    recipe = "LabelSpreading(kernel='knn', n_neighbors=10, max_iter=100)"
                    self.add("LabelSpreading", n_labels, seed, accuracy, seconds, recipe)
        return self.rows


def summarise(rows):
    """``{(method, labels): (mean accuracy, std, mean seconds, n seeds)}`` over the seeds."""
    groups = {}
    for row in rows:
        groups.setdefault((row["method"], row["labels"]), []).append(row)
    summary = {}
    for key, group in groups.items():
        accuracies = [r["accuracy"] for r in group if r["accuracy"] != ""]
        seconds = float(np.mean([r["fit_seconds"] for r in group]))
        if accuracies:
            summary[key] = (
                float(np.mean(accuracies)),
                float(np.std(accuracies)),
                seconds,
                len(group),
            )
        else:
            summary[key] = (None, None, seconds, len(group))
    return summary


def markdown(name, rows, args, machine, elapsed, n_train, n_test):
    summary = summarise(rows)
    labels = sorted({r["labels"] for r in rows if r["method"] != "pretraining"})
    methods = [m for m in METHODS if any(key[0] == m for key in summary)]
    lines = [
        f"## Fine-tuning a pretrained autoencoder: {name}",
        "",
        f"Command: `python benchmarks/fine_tuning.py {shlex.join(args.argv)}`",
        "",
        f"{n_train} training rows (the unlabelled ones take part in the pretraining and in "
        f"LabelSpreading), {n_test} test rows, {args.seeds} seed(s); machine: {machine}; "
        f"total {elapsed / 60:.1f} min. Accuracy on the test rows, mean ± standard deviation "
        "over the seeds; the fit time of each method excludes the shared pretraining (its own "
        "row) and includes the learning-rate search where there is one.",
        "",
        "| method | " + " | ".join(f"{n} labels" for n in labels) + " | fit (s) |",
        "|---|" + "---:|" * (len(labels) + 1),
    ]
    best = {
        n: max((summary[(m, n)][0] for m in methods if (m, n) in summary), default=None)
        for n in labels
    }
    for method in methods:
        cells = []
        for n in labels:
            if (method, n) not in summary:
                cells.append("")
                continue
            mean, std, _, _ = summary[(method, n)]
            text = f"{mean:.4f} ± {std:.4f}"
            cells.append(f"**{text}**" if mean == best[n] else text)
        seconds = [summary[(method, n)][2] for n in labels if (method, n) in summary]
        lines.append(
            f"| {method} | "
            + " | ".join(cells)
            + " | "
            + " / ".join(f"{s:.0f}" for s in seconds)
            + " |"
        )
    pre = [r for r in rows if r["method"] == "pretraining"]
    if pre:
        lines += [
            "",
            "Pretraining (once per seed, shared): "
            f"{np.mean([r['fit_seconds'] for r in pre]):.0f} s on average; `{pre[0]['recipe']}`.",
        ]
    recipes = {}
    for r in rows:
        if r["method"] in NETWORK_METHODS:
            recipes.setdefault((r["method"], r["labels"]), (r["recipe"], []))[1].append(
                r["chosen_learning_rate"]
            )
    if recipes:
        lines += ["", "Network recipes (learning rate chosen by 3-fold CV where listed):", ""]
        for (method, n), (recipe, chosen) in sorted(recipes.items(), key=lambda kv: kv[0][1]):
            chosen = [c for c in chosen if c != ""]
            extra = f"; chosen learning_rate_init per seed: {chosen}" if chosen else ""
            lines.append(f"- {method}, {n} labels: `{recipe}`{extra}")
    if name == "mnist" and n_train == 60000 and n_test == 10000:
        key = ("fine-tuned", 60000)
        if key in summary:
            error = 100 * (1 - summary[key][0])
            verdict = "reached" if error <= 1.2 else "not reached"
            lines += [
                "",
                f"**MNIST goal, all 60,000 labels: fine-tuned test error {error:.2f}% against the "
                f"paper's 1.2% (pretrained 784-500-500-2000-10): {verdict}.** Published in the "
                "same paper: " + ", ".join(f"{k} {v}%" for k, v in PUBLISHED_MNIST.items()) + ".",
            ]
    return "\n".join(lines) + "\n"


def plot(name, rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarise(rows)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for method in METHODS:
        points = sorted((n, v[0], v[1]) for (m, n), v in summary.items() if m == method)
        if not points:
            continue
        n, mean, std = zip(*points, strict=True)
        ax.errorbar(n, mean, yerr=std, marker="o", capsize=3, label=method)
    ax.set_xscale("log")
    ax.set_xlabel("number of training labels (the other training rows unlabelled)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{name}: fine-tuning a pretrained autoencoder")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--datasets", nargs="+", choices=list(RECIPES), default=["digits"], help="what to run"
    )
    parser.add_argument(
        "--data-dir",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="IDX directory of a dataset (default: ../shared/data/<name>, or SKAE_DATA_DIR)",
    )
    parser.add_argument("--labels", nargs="+", default=["100", "1000", "all"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS)
    parser.add_argument("--n-train", type=int, default=None, help="first N training rows")
    parser.add_argument("--n-test", type=int, default=None, help="first N test rows")
    parser.add_argument(
        "--family",
        choices=FAMILIES,
        default="Autoencoder",
        help="the autoencoder pretrained with the dataset's recipe; DenoisingAutoencoder "
        "with pretraining='greedy' is a stacked denoising autoencoder (Vincent et al., 2010)",
    )
    parser.add_argument("--pretrain-epochs", type=int, default=None, help="override max_iter")
    parser.add_argument(
        "--all-epochs", type=int, default=None, help="override the many-label fine-tuning epochs"
    )
    parser.add_argument(
        "--vat-epsilon",
        type=float,
        default=None,
        help="vat_epsilon of the '+ VAT' rows, over the recipe's (which runs them on "
        "datasets whose recipe has none)",
    )
    parser.add_argument("--cv-max-labels", type=int, default=1000)
    parser.add_argument("--cv-learning-rates", type=float, nargs="+", default=[1e-4, 1e-3])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        dest="extra",
        help="fine-tuning parameters of the network methods, key=value, over the "
        "dataset's recipe (the all-label MNIST run of results/fine_tuning_mnist.md sets "
        "its 120-epoch dropout recipe this way)",
    )
    parser.add_argument(
        "--vat-set",
        nargs="*",
        default=[],
        dest="vat_extra",
        help="fine-tuning parameters of the '+ VAT' rows only, key=value, over --set "
        "(for instance max_iter=20 ema_decay=0.999)",
    )
    parser.add_argument(
        "--pretrain-set",
        nargs="*",
        default=[],
        dest="pretrain_extra",
        help="parameters of the pretrained autoencoder, key=value, over the recipe's "
        "(for instance noise_level=0.5 with --family DenoisingAutoencoder)",
    )
    parser.add_argument("--output-dir", default=str(Path(__file__).resolve().parent / "results"))
    parser.add_argument("--no-figures", action="store_true")
    args = parser.parse_args(argv)
    args.extra = parameters_from_pairs(args.extra)
    args.pretrain_extra = parameters_from_pairs(args.pretrain_extra)
    args.vat_extra = parameters_from_pairs(args.vat_extra)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    for label in args.labels:
        if label != "all" and not label.isdigit():
            parser.error(f"--labels takes positive integers or 'all', got {label!r}")
    return args


def data_dir(name, args):
    given = dict(item.split("=", 1) for item in args.data_dir if "=" in item)
    if name in given:
        return given[name]
    if os.environ.get("SKAE_DATA_DIR"):
        return os.environ["SKAE_DATA_DIR"]
    return str(DEFAULT_DIRS[name])


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    machine = (
        f"{os.cpu_count()}-core CPU ({platform.machine()}), torch {torch.__version__}, "
        f"torch.set_num_threads({args.threads}), device {args.device}"
    )
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.datasets:
        directory = None if name == "digits" else data_dir(name, args)
        X_train, y_train, X_test, y_test = run_or_exit(load_dataset, name, directory)
        X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
        X_test, y_test = X_test[: args.n_test], y_test[: args.n_test]
        if len(np.unique(y_train)) < 2:
            raise DataError(f"{name}: the training rows hold fewer than two classes.")
        print(f"{name}: {len(X_train)} training rows, {len(X_test)} test rows; {machine}")
        start = time.perf_counter()
        rows = Run(name, (X_train, y_train, X_test, y_test), args).run()
        elapsed = time.perf_counter() - start
        suffix = "" if args.n_train is None and args.n_test is None else "_subset"
        suffix += FAMILY_SUFFIXES[args.family]
        stem = out / f"fine_tuning_{name}{suffix}"
        text = markdown(name, rows, args, machine, elapsed, len(X_train), len(X_test))
        print()
        print(text)
        stem.with_suffix(".md").write_text(text)
        with open(stem.with_suffix(".csv"), "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        if not args.no_figures:
            plot(name, rows, stem.with_suffix(".png"))
        print(f"wrote {stem}.md, .csv" + ("" if args.no_figures else ", .png"))


if __name__ == "__main__":
    main()
