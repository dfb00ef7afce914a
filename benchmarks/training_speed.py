"""How much does skae's scikit-learn surface cost over a hand-written torch loop?

Two measurements, both on the same network and the same work:

1. ``Autoencoder.fit`` against a hand-written torch training loop and against
   skorch's default ``NeuralNetRegressor.fit(X, X)`` (its ``DataLoader`` path),
   on a 784-256-64 MLP autoencoder, batch 256, Adam, a fresh random
   permutation of the rows each epoch (the same shuffling work everywhere).
2. Every estimator family found in ``skae``: fit throughput (samples per
   second), its ratio to a hand-written loop of the same network and loss,
   transform throughput against plain batched torch inference, and for the
   contractive family the ratio of its fit to a plain ``Autoencoder`` fit of
   the same network.

The runs being compared are interleaved (the order rotates each repetition)
and every ratio is taken within one repetition; the script reports medians.
torch runs on one thread (``torch.set_num_threads(1)``) unless ``--threads``
says otherwise, because on a busy shared machine a second OpenMP thread makes
timings swing by large factors.

Examples
--------
::

    python benchmarks/training_speed.py                     # both parts
    python benchmarks/training_speed.py --part engine --rows 60000 --repeats 7
    python benchmarks/training_speed.py --part families --device cuda
"""

import argparse
import copy
import inspect
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import DataError, load_mnist_format, run_or_exit  # noqa: E402

HIDDEN = (256,)
N_COMPONENTS = 64
BATCH_SIZE = 256
EPOCHS = 3
LEARNING_RATE = 1e-3
ALPHA = 0.0  # skae's default L2 penalty (none); the same in every runner
INFERENCE_BATCH = 4096


# --------------------------------------------------------------------- data


def load_rows(n_rows, data_dir, seed=0):
    """Return ``n_rows`` float32 rows of 784 features in [0, 1] and where they came from.

    Fashion-MNIST training images when ``data_dir`` holds them (repeated if
    more rows are asked for than there are), uniform random rows otherwise.
    """
    try:
        X_train, _, X_test, _ = load_mnist_format(data_dir)
        X = np.concatenate([X_train, X_test])
        source = f"Fashion-MNIST/MNIST IDX rows from {data_dir}"
    except DataError as exc:
        if data_dir is not None:
            raise
        X = None
        source = f"uniform random rows (no IDX data: {exc})"
    rng = np.random.default_rng(seed)
    if X is None:
        return rng.random((n_rows, 784), dtype=np.float32), "uniform random rows"
    if X.shape[1] != 784:
        raise DataError(f"expected 28x28 images (784 features), got {X.shape[1]}.")
    reps = -(-n_rows // len(X))
    X = np.concatenate([X] * reps)[:n_rows]
    return np.ascontiguousarray(X, dtype=np.float32), source


# ---------------------------------------------------------------- helpers


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(function, device):
    """Return ``(cpu_seconds, wall_seconds)`` of ``function()``.

    CPU seconds are the process's CPU time (``time.process_time``): with
    torch on one thread they count the work done and not the time spent
    waiting for a core that another process holds, which on a shared 2-core
    machine makes ratios far steadier than wall-clock time. On CUDA only the
    wall-clock seconds mean anything (CUDA is synchronised around the call),
    so both values are the wall-clock time there.
    """
    cuda = torch.device(device).type == "cuda"
    _sync(device)
    cpu, wall = time.process_time(), time.perf_counter()
    function()
    _sync(device)
    wall = time.perf_counter() - wall
    return (wall if cuda else time.process_time() - cpu), wall


def mlp(sizes, last_activation=False):
    """A plain ``nn.Sequential`` MLP with ReLU between layers."""
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2 or last_activation:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def plain_network(n_features):
    """The benchmark network as plain torch: 784-256-64-256-784, ReLU, linear code."""
    return nn.Sequential(
        mlp([n_features, *HIDDEN, N_COMPONENTS]),
        mlp([N_COMPONENTS, *reversed(HIDDEN), n_features]),
    )


def adam(module):
    """Adam as skae builds it: L2 penalty ``ALPHA`` on weights, none on biases."""
    decay = [p for n, p in module.named_parameters() if "bias" not in n]
    no_decay = [p for n, p in module.named_parameters() if "bias" in n]
    return torch.optim.Adam(
        [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=LEARNING_RATE,
        weight_decay=ALPHA,
    )


def hand_loop(X, module, loss_fn, device, seed=0, epochs=EPOCHS, batch_size=BATCH_SIZE):
    """Train ``module`` with a hand-written torch loop; return the last epoch's mean loss.

    The same work as skae's engine: the rows are copied to a tensor on
    ``device`` once, each epoch draws a permutation from a seeded generator
    and slices batches from it, and the epoch loss is accumulated from
    ``loss.item()`` per batch.
    """
    data = torch.tensor(X, dtype=torch.float32, device=device)
    module = module.to(device)
    module.train()
    optimizer = adam(module)
    generator = torch.Generator().manual_seed(seed)
    n = data.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(device)
        total = 0.0
        for start in range(0, n, batch_size):
            batch = data[order[start : start + batch_size]]
            optimizer.zero_grad()
            loss = loss_fn(module, batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
    return total / n


def mse_loss(module, batch):
    """Mean squared reconstruction error of a plain ``nn.Sequential`` autoencoder."""
    return (module(batch) - batch).pow(2).mean()


def skae_kwargs(device, **extra):
    """Parameters of a skae estimator that match the benchmark network and work.

    The same work as the hand-written loop: a random start and every row
    trained on (no PCA start, no held-out rows, whose costs are the
    estimator's own and are timed apart, in the README).
    """
    return dict(
        n_components=N_COMPONENTS,
        hidden_layer_sizes=HIDDEN,
        batch_size=BATCH_SIZE,
        max_iter=EPOCHS,
        learning_rate_init=LEARNING_RATE,
        alpha=ALPHA,
        init="random",
        early_stopping=False,
        random_state=0,
        device=device,
        **extra,
    )


def fit_quietly(estimator, X):
    """``estimator.fit(X)`` without the ConvergenceWarning of a deliberately short fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X)


# ------------------------------------------------------------ part 1: engine


def engine_runners(X, device):
    """The three ways to train the benchmark network, as named zero-argument callables."""
    from skorch import NeuralNetRegressor

    from skae import Autoencoder

    def skae_fit():
        return fit_quietly(Autoencoder(**skae_kwargs(device)), X)

    def hand():
        torch.manual_seed(0)
        return hand_loop(X, plain_network(X.shape[1]), mse_loss, device)

    def skorch_default():
        torch.manual_seed(0)
        net = NeuralNetRegressor(
            plain_network(X.shape[1]),
            criterion=nn.MSELoss,
            optimizer=torch.optim.Adam,
            lr=LEARNING_RATE,
            optimizer__weight_decay=ALPHA,
            optimizer__param_groups=[("*bias*", {"weight_decay": 0.0})],
            max_epochs=EPOCHS,
            batch_size=BATCH_SIZE,
            iterator_train__shuffle=True,
            train_split=None,
            device=device,
            verbose=0,
        )
        return net.fit(X, X)

    return {
        "hand-written loop": hand,
        "skae Autoencoder.fit": skae_fit,
        "skorch default": skorch_default,
    }


def bench_engine(X, device, repeats):
    """Time the engine comparison, interleaved.

    Returns ``(cpu, wall)``: two dicts ``method -> list of seconds``, one
    entry per repetition, so ratios can be taken within a repetition.
    """
    runners = engine_runners(X, device)
    names = list(runners)
    for name in names:  # warm-up: first-call costs (allocator, imports) are not measured
        timed(runners[name], device)
    cpu = {name: [] for name in names}
    wall = {name: [] for name in names}
    for rep in range(repeats):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            c, w = timed(runners[name], device)
            cpu[name].append(c)
            wall[name].append(w)
        ratios = ", ".join(
            f"{name} {cpu[name][-1] / cpu[names[0]][-1]:.3f}x "
            f"(wall {wall[name][-1] / wall[names[0]][-1]:.3f}x)"
            for name in names[1:]
        )
        print(f"  repetition {rep + 1}/{repeats}: {ratios}", flush=True)
    return cpu, wall


def _ratios(values, base):
    return [v / b for v, b in zip(values, base, strict=True)]


def report_engine(cpu, wall, n_rows):
    """Return Markdown lines summarising :func:`bench_engine`'s timings."""
    base = "hand-written loop"
    lines = [
        "| method | median CPU s | median wall s | samples/s (CPU) "
        "| ratio to hand-written loop, CPU (median) | per repetition | ratio, wall (median) |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for name in cpu:
        ratios = _ratios(cpu[name], cpu[base])
        median = statistics.median(cpu[name])
        lines.append(
            f"| {name} | {median:.2f} | {statistics.median(wall[name]):.2f} "
            f"| {n_rows * EPOCHS / median:,.0f} | **{statistics.median(ratios):.3f}x** "
            f"| {' '.join(f'{r:.3f}' for r in ratios)} "
            f"| {statistics.median(_ratios(wall[name], wall[base])):.3f}x |"
        )
    return lines


# ---------------------------------------------------------- part 2: families


def discover_families():
    """Every public estimator class in ``skae``, aliases dropped, in ``__all__`` order."""
    import skae
    from skae._base import BaseAutoencoder

    found = {}
    for name in skae.__all__:
        obj = getattr(skae, name, None)
        if inspect.isclass(obj) and issubclass(obj, BaseAutoencoder) and obj not in found.values():
            found[obj.__name__] = obj
    return found


def family_hand_loss(estimator, n_features, data, device):
    """Build the estimator's own network and loss for a hand-written loop.

    Uses the family's hooks and regularizers (module, corruption, criterion,
    loss terms) and skae's own loss composition, so the hand-written loop
    does exactly the arithmetic skae's engine does, minus skorch and
    scikit-learn.
    """
    from skae._net import compose_loss
    from skae._training import attach_regularizers
    from skae.nn import init_parameters_

    module = estimator._build_module(n_features, None)
    init_parameters_(module, torch.Generator().manual_seed(2))
    module, terms, _ = attach_regularizers(estimator, module, data, 1)
    criterion = estimator._build_criterion().to(device)

    def loss_fn(module, batch):
        per_sample, _ = compose_loss(criterion, terms, module(batch), batch, module)
        return per_sample.mean()

    return module, loss_fn


def plain_inference(module, X, device):
    """Encode ``X`` with plain batched torch inference (eval mode, no autograd)."""
    module.eval()
    out = np.empty((len(X), N_COMPONENTS), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(X), INFERENCE_BATCH):
            batch = torch.from_numpy(X[start : start + INFERENCE_BATCH]).to(device)
            out[start : start + INFERENCE_BATCH] = module.encode(batch).cpu().numpy()
    return out


def bench_family(cls, X, data, device, repeats):
    """Time one family's fit and transform against hand-written torch, interleaved.

    Returns a dict of lists (one entry per repetition) of seconds: ``skae``
    (the family's fit), ``hand`` (a hand-written loop of the same network and
    loss), ``plain`` (a plain ``Autoencoder`` fit of the same network),
    ``transform`` and ``torch_transform`` (plain batched torch inference).
    """
    from skae import Autoencoder

    kwargs = skae_kwargs(device)

    def skae_fit():
        return fit_quietly(cls(**kwargs), X)

    def hand():
        module, loss_fn = family_hand_loss(cls(**kwargs), X.shape[1], data, device)
        return hand_loop(X, module, loss_fn, device)

    def plain_fit():
        return fit_quietly(Autoencoder(**kwargs), X)

    runners = {"skae": skae_fit, "hand": hand, "plain": plain_fit}
    if cls is Autoencoder:
        del runners["plain"]
    fitted = skae_fit()  # warm-up, and the model whose transform is timed
    module = copy.deepcopy(fitted.net_.module_)
    transforms = {
        "transform": lambda: fitted.transform(X),
        "torch_transform": lambda: plain_inference(module, X, device),
    }
    timed(transforms["torch_transform"], device)
    record = {key: [] for key in ("skae", "hand", "plain", "transform", "torch_transform")}
    names = list(runners)
    for rep in range(repeats):
        for key in names[rep % len(names) :] + names[: rep % len(names)]:
            record[key].append(timed(runners[key], device)[0])
        if "plain" not in runners:
            record["plain"].append(record["skae"][-1])
        for key in list(transforms) if rep % 2 == 0 else list(transforms)[::-1]:
            record[key].append(timed(transforms[key], device)[0])
        print(
            f"    repetition {rep + 1}/{repeats}: fit {record['skae'][-1]:.2f}s, "
            f"{record['skae'][-1] / record['hand'][-1]:.3f}x hand-written, "
            f"{record['skae'][-1] / record['plain'][-1]:.3f}x plain Autoencoder fit; "
            f"transform {record['transform'][-1] / record['torch_transform'][-1]:.3f}x "
            "plain torch",
            flush=True,
        )
    return record


def bench_families(X, device, repeats, families):
    """Run :func:`bench_family` for every family; return ``{name: record}``."""
    data = torch.tensor(X, dtype=torch.float32, device=device)
    results = {}
    for name, cls in families.items():
        print(f"  {name}:", flush=True)
        results[name] = bench_family(cls, X, data, device, repeats)
    return results


def report_families(results, n_rows):
    """Return Markdown lines summarising :func:`bench_families`."""
    lines = [
        "| family | fit samples/s | fit / hand-written loop | fit / plain Autoencoder fit "
        "| transform samples/s | transform / plain torch inference |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def median_ratio(a, b):
        return statistics.median(x / y for x, y in zip(a, b, strict=True))

    for name, r in results.items():
        lines.append(
            f"| {name} | {n_rows * EPOCHS / statistics.median(r['skae']):,.0f} "
            f"| {median_ratio(r['skae'], r['hand']):.3f}x "
            f"| {median_ratio(r['skae'], r['plain']):.3f}x "
            f"| {n_rows / statistics.median(r['transform']):,.0f} "
            f"| {median_ratio(r['transform'], r['torch_transform']):.3f}x |"
        )
    return lines


# ------------------------------------------------------------------- main


def machine_line(device, threads):
    """One line naming the machine, library versions and thread count."""
    import os

    import skorch

    cpu = platform.processor() or platform.machine()
    line = (
        f"{os.cpu_count()}-core CPU ({cpu}), Python {platform.python_version()}, "
        f"torch {torch.__version__}, skorch {skorch.__version__}, "
        f"torch.set_num_threads({threads}), device {device}"
    )
    if torch.device(device).type == "cuda":
        line += f" ({torch.cuda.get_device_name()})"
    return line


def parse_args(argv=None):
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--part", choices=["engine", "families", "both"], default="both")
    parser.add_argument("--rows", type=int, default=30000, help="training rows (20k-60k)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repetitions")
    parser.add_argument("--family-rows", type=int, default=20000, help="rows in part 2")
    parser.add_argument("--family-repeats", type=int, default=3)
    parser.add_argument(
        "--families", nargs="*", default=None, help="only these skae classes in part 2"
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="MNIST-format IDX files; without it, Fashion-MNIST at "
        "../shared/data/fashion-mnist if present, random rows otherwise",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--output", default=None, help="also write the tables to this .md file")
    return parser.parse_args(argv)


def _default_data_dir():
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "shared/data/fashion-mnist", here / "data/fashion-mnist"):
        if candidate.is_dir():
            return candidate
    return None


def main(argv=None):
    """Run the benchmark and print Markdown tables."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
        raise DataError("--device cuda was asked for, but torch sees no CUDA device.")
    data_dir = args.data_dir or _default_data_dir()
    if args.data_dir is None and data_dir is not None:
        try:
            load_mnist_format(data_dir)
        except DataError:
            data_dir = None
    lines = [f"Machine: {machine_line(args.device, args.threads)}.", ""]
    if args.part in ("engine", "both"):
        X, source = load_rows(args.rows, data_dir)
        print(f"Part 1: engine, {args.rows} rows ({source}), {args.repeats} repetitions")
        cpu, wall = bench_engine(X, args.device, args.repeats)
        lines += [
            f"### Engine: 784-{HIDDEN[0]}-{N_COMPONENTS} MLP autoencoder, {args.rows:,} rows, "
            f"batch {BATCH_SIZE}, {EPOCHS} epochs, Adam "
            f"(median of {args.repeats} interleaved repetitions)",
            "",
            *report_engine(cpu, wall, args.rows),
            "",
        ]
    if args.part in ("families", "both"):
        families = discover_families()
        if args.families:
            unknown = set(args.families) - set(families)
            if unknown:
                raise DataError(f"no such skae families: {sorted(unknown)}; found {list(families)}")
            families = {k: v for k, v in families.items() if k in args.families}
        X, source = load_rows(args.family_rows, data_dir)
        print(f"Part 2: families {list(families)}, {args.family_rows} rows ({source})")
        results = bench_families(X, args.device, args.family_repeats, families)
        lines += [
            f"### Families: 784-{HIDDEN[0]}-{N_COMPONENTS}, {args.family_rows:,} rows, "
            f"batch {BATCH_SIZE}, {EPOCHS} epochs, default family parameters "
            f"(median of {args.family_repeats} interleaved repetitions)",
            "",
            *report_families(results, args.family_rows),
            "",
        ]
    text = "\n".join(lines)
    print()
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(run_or_exit(main))
