"""
===========================================================
Two-dimensional maps of MNIST: PCA, an autoencoder, a VAE
===========================================================

Hinton & Salakhutdinov's Fig. 3 sets the first two principal components of
the MNIST test digits beside the codes of a deep autoencoder with a
two-unit code: the autoencoder separates the classes that PCA piles on top
of each other. The challenge in the reference material adds a
:class:`~skae.VariationalAutoencoder` with a two-dimensional latent space:
its latent means give a map too, and, being a generative model, every point
of the latent plane decodes to a digit.

This example needs the MNIST IDX files (``train-images-idx3-ubyte.gz`` and
the other three) in ``../shared/data/mnist`` beside the repository, or in
the directory named by the ``SKAE_MNIST_DIR`` environment variable; without
them it says so and stops. So that the documentation builds in a few
minutes, it trains on the **first 10,000 training digits for 10 epochs**
and smaller networks than the paper's; ``benchmarks/hinton2006.py`` runs the
full-size maps (all 60,000 digits, the 784-1000-500-250-2 stack and a
784-512-256-2 VAE) and writes their figures to ``benchmarks/results/``.
"""

# %%
# Load MNIST, if it is here
# -------------------------
#
# The IDX format is a few header integers followed by the raw bytes, so a
# dozen lines read it; pixels are divided by 255, as in the paper.

import gzip
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from skae import VAE, Autoencoder


def read_idx(path):
    """An IDX file (gzipped or not) as a numpy array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    n_dims = data[3]
    shape = np.frombuffer(data, dtype=">u4", count=n_dims, offset=4)
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(shape)


def find(directory, stem):
    for name in (stem + ".gz", stem):
        if (directory / name).exists():
            return directory / name
    return None


# The documentation build runs examples from docs/examples; the data sit
# beside the repository.
candidates = [os.environ.get("SKAE_MNIST_DIR"), "../../../shared/data/mnist"]
stems = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]
files = None
for candidate in filter(None, candidates):
    found = [find(Path(candidate), stem) for stem in stems]
    if all(found):
        files = found
        break

if files is None:
    print("MNIST IDX files not found (set SKAE_MNIST_DIR): this example is skipped.")
else:
    X_train = read_idx(files[0]).reshape(-1, 784)[:10_000].astype(np.float32) / 255
    y_train = read_idx(files[1])[:10_000]
    X_test = read_idx(files[2]).reshape(-1, 784)[:2_000].astype(np.float32) / 255
    y_test = read_idx(files[3])[:2_000]
    print(f"{len(X_train)} training and {len(X_test)} test digits")

# %%
# Fit PCA, a deterministic autoencoder and a VAE, each with two dimensions
# ------------------------------------------------------------------------
#
# Both networks are 784-512-256-2 with ReLU hidden units and a Bernoulli
# likelihood (``loss="bce"``, the pixels being in [0, 1]); the learning rate
# decays to zero over the 10 epochs (``learning_rate="cosine"``). The VAE's
# ``transform`` returns the posterior means.

if files is not None:
    common = dict(
        n_components=2,
        hidden_layer_sizes=(512, 256),
        loss="bce",
        max_iter=10,
        batch_size=100,
        learning_rate="cosine",
        early_stopping=False,
        random_state=0,
    )
    models = {
        "PCA": PCA(n_components=2),
        "Autoencoder 784-512-256-2": Autoencoder(**common),
        "VAE 784-512-256-2 (latent means)": VAE(**common),
    }
    maps = {}
    with warnings.catch_warnings():
        # Ten epochs is a time budget, not convergence.
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, model in models.items():
            model.fit(X_train)
            maps[name] = model.transform(X_test)

# %%
# The maps, with the 5-nearest-neighbour accuracy of each
# -------------------------------------------------------
#
# The accuracy of a 5-NN classifier on the 2-D codes of the test digits
# (5-fold cross-validation among them) measures how well each map keeps the
# classes apart.

if files is not None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    for ax, (name, codes) in zip(axes, maps.items(), strict=True):
        accuracy = cross_val_score(KNeighborsClassifier(5), codes, y_test, cv=5).mean()
        print(f"{name}: 5-NN accuracy {accuracy:.3f}")
        points = ax.scatter(codes[:, 0], codes[:, 1], c=y_test, cmap="tab10", s=3, alpha=0.7)
        ax.set_title(f"{name}\n5-NN accuracy {accuracy:.3f}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(points, ax=axes.tolist(), ticks=range(10), label="digit")
    plt.show()

# %%
# Digits decoded over the VAE's latent plane
# ------------------------------------------
#
# A regular grid of the latent plane, spaced by the inverse normal CDF (the
# 5 %, ..., 95 % quantiles of the prior, so that each cell holds the same
# prior mass), decoded by ``inverse_transform``.

if files is not None:
    n = 15
    values = norm.ppf(np.linspace(0.05, 0.95, n))
    grid = np.array([[a, b] for b in values[::-1] for a in values], dtype=np.float32)
    vae = models["VAE 784-512-256-2 (latent means)"]
    images = vae.inverse_transform(grid).reshape(n, n, 28, 28)
    canvas = images.transpose(0, 2, 1, 3).reshape(n * 28, n * 28)
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(canvas, cmap="gray_r")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("The 2-D VAE decoded over its latent plane")
    plt.show()
