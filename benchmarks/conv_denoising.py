"""Convolutional against MLP denoising autoencoders on Fashion-MNIST.

Trains a :class:`skae.DenoisingAutoencoder` twice at the same code size,
once with the default MLP network and once with a
:class:`skae.ConvolutionalArchitecture` (28x28 images), both on the same
training rows corrupted with additive Gaussian noise. The test images are
corrupted with the same noise (fixed seed) and each model reconstructs them;
the table reports the error of those reconstructions against the clean test
images, next to two references (the noisy images themselves and PCA with
the same number of components fitted on clean images), and each fit's time.

Usage::

    python benchmarks/conv_denoising.py --train-rows 20000 --epochs 10 \\
        --output benchmarks/results/conv_denoising.md

The IDX files are read from ``--data-dir``, else the ``SKAE_FASHION_MNIST``
environment variable, else ``../shared/data/fashion-mnist`` next to the
repository; nothing is downloaded, and a missing directory stops the script
with a message and exit status 2. Torch runs on one thread unless
``--threads`` says otherwise (timings on a shared machine swing otherwise).
"""

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import DataError, load_mnist_format, run_or_exit  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--data-dir", default=None, help="directory of the Fashion-MNIST IDX files")
    parser.add_argument("--train-rows", type=int, default=20000, help="training rows used")
    parser.add_argument("--test-rows", type=int, default=10000, help="test rows used")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of each fit")
    parser.add_argument("--n-components", type=int, default=32, help="code size of every model")
    parser.add_argument("--noise", type=float, default=0.3, help="std of the Gaussian noise")
    parser.add_argument("--channels", default="32,64", help="conv channels, outermost first")
    parser.add_argument(
        "--upsampling", default="nearest,transposed", help="conv decoders to run, comma-separated"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="also write the table to this .md file")
    return parser.parse_args(argv)


def default_data_dir():
    """``SKAE_FASHION_MNIST``, else ``../shared/data/fashion-mnist`` relative to the repository."""
    env = os.environ.get("SKAE_FASHION_MNIST")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fashion-mnist"


def load(data_dir):
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    if not data_dir.is_dir():
        raise DataError(
            f"Fashion-MNIST directory {data_dir} not found: pass --data-dir DIR or set "
            "SKAE_FASHION_MNIST to a directory holding train-images-idx3-ubyte.gz, "
            "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
            "t10k-labels-idx1-ubyte.gz. Nothing is downloaded."
        )
    return load_mnist_format(data_dir)


def errors(reconstruction, clean):
    """Mean squared error per pixel, and squared error summed per image (averaged)."""
    squared = (np.asarray(reconstruction, dtype=np.float64) - clean) ** 2
    return squared.mean(), squared.sum(axis=1).mean()


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=".*ran max_iter.*")
    from sklearn.decomposition import PCA

    from skae import ConvolutionalArchitecture, DenoisingAutoencoder

    X_train, _, X_test, _ = run_or_exit(load, args.data_dir)
    rng = np.random.RandomState(args.seed)
    X_train = X_train[rng.permutation(len(X_train))[: args.train_rows]]
    X_test = X_test[: args.test_rows].astype(np.float64)
    noisy = X_test + args.noise * np.random.RandomState(args.seed + 1).standard_normal(X_test.shape)
    side = int(round(np.sqrt(X_train.shape[1])))
    channels = tuple(int(c) for c in args.channels.split(","))
    k = args.n_components
    common = {
        "n_components": k,
        "noise": "gaussian",
        "noise_level": args.noise,
        "max_iter": args.epochs,
        "batch_size": 128,
        "device": "cpu",
        "random_state": args.seed,
    }
    widths = "-".join(str(w) for w in DenoisingAutoencoder().hidden_layer_sizes)
    models = {f"MLP {X_train.shape[1]}-{widths}-k (default)": DenoisingAutoencoder(**common)}
    for upsampling in args.upsampling.split(","):
        conv = ConvolutionalArchitecture((side, side), channels=channels, upsampling=upsampling)
        name = f"conv {channels}, {upsampling}" + (
            " upsampling + conv" if upsampling != "transposed" else " conv"
        )
        models[name] = DenoisingAutoencoder(architecture=conv, **common)

    rows = [("noisy input (no model)", *errors(noisy, X_test), None, None, None)]
    wall, cpu = time.perf_counter(), time.process_time()
    pca = PCA(n_components=k, random_state=args.seed).fit(X_train)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pca_errors = errors(pca.inverse_transform(pca.transform(noisy)), X_test)
    rows.append((f"PCA, {k} components (fitted on clean rows)", *pca_errors, wall, cpu, None))
    for name, model in models.items():
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(X_train)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        n_params = sum(p.numel() for p in model.net_.module_.parameters())
        denoised = model.inverse_transform(model.transform(noisy))
        rows.append((name, *errors(denoised, X_test), wall, cpu, n_params))
        print(f"{name}: done in {wall:.0f} s", file=sys.stderr)

    lines = [
        f"Machine: {platform.machine()} CPU, {os.cpu_count()} cores shared with other jobs, "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"torch.set_num_threads({args.threads}), device cpu.",
        "",
        "Command: `python benchmarks/conv_denoising.py "
        + " ".join(argv if argv is not None else sys.argv[1:])
        + "`",
        "",
        f"Fashion-MNIST, {len(X_train):,} training rows (random subset), first "
        f"{len(X_test):,} test rows; clean images in [0, 1]; training corruption and test "
        f"noise: additive Gaussian, std {args.noise} (unclipped). Code size {k} for every "
        f"model; {args.epochs} epochs, batch 128, Adam 1e-3, MSE loss against the clean "
        "rows. Errors compare the reconstruction of the noisy test images with the clean "
        "ones.",
        "",
        "| model | MSE per pixel | squared error per image | fit wall s | fit CPU s | parameters |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, mse, per_image, wall, cpu, n_params in rows:
        cells = [
            name,
            f"{mse:.4f}",
            f"{per_image:.1f}",
            "" if wall is None else f"{wall:.1f}",
            "" if cpu is None else f"{cpu:.1f}",
            "" if n_params is None else f"{n_params:,}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(
            "# Convolutional against MLP denoising autoencoder\n\n" + table
        )


if __name__ == "__main__":
    main()
