"""
======================================================
Few labels: pretrain an autoencoder, then fine-tune it
======================================================

Labels are often scarce while rows are not. An autoencoder learns from all
the rows; :class:`~skae.AutoencoderClassifier` then puts a softmax layer on
its encoder and fine-tunes the network on the few labelled rows. Here the
digits' training rows are all used for the pretraining, but only 20 to
1,000 of them keep their label (the others are marked ``-1``, scikit-learn's
convention for unlabelled rows), and the test accuracy is compared with the
same network trained from scratch on the labels alone, with a logistic
regression on the frozen code, and with PCA followed by an SVC. A last
classifier lets the unlabelled rows shape the fine-tuning itself, through
virtual adversarial training (``vat_epsilon``).
"""

# %%
# Pretrain once, reuse it for every number of labels
# --------------------------------------------------
#
# Pretraining does not depend on the labels, so the autoencoder is fitted
# once on every training row and wrapped in
# :class:`~sklearn.frozen.FrozenEstimator`: each classifier then uses it as
# it is and fine-tunes a copy of its encoder.

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skae import Autoencoder, AutoencoderClassifier

X, y = load_digits(return_X_y=True)
X = X / 16
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

warnings.simplefilter("ignore", ConvergenceWarning)  # fixed budgets, on purpose
autoencoder = Autoencoder(n_components=16, max_iter=50, random_state=0).fit(X_train)
codes_train, codes_test = autoencoder.transform(X_train), autoencoder.transform(X_test)
pca = PCA(n_components=16, random_state=0).fit(X_train)


def some_labels(n_labels, seed=0):
    """``y_train`` with all but ``n_labels`` rows (as many per class) set to -1."""
    rng = np.random.RandomState(seed)
    keep = np.concatenate(
        [rng.permutation(np.flatnonzero(y_train == c))[: n_labels // 10] for c in range(10)]
    )
    y_semi = np.full_like(y_train, -1)
    y_semi[keep] = y_train[keep]
    return y_semi, keep


# %%
# Accuracy against the number of labels
# -------------------------------------

n_labels = [20, 50, 100, 300, 1000]
scores = {
    "fine-tuned + VAT": [],
    "fine-tuned": [],
    "same network, from scratch": [],
    "frozen code + LR": [],
    "PCA + SVC": [],
}
for n in n_labels:
    y_semi, keep = some_labels(n)
    fine_tuned = AutoencoderClassifier(
        FrozenEstimator(autoencoder), max_iter=100, random_state=0
    ).fit(X_train, y_semi)
    smooth = AutoencoderClassifier(
        FrozenEstimator(autoencoder), vat_epsilon=0.3, max_iter=100, random_state=0
    ).fit(X_train, y_semi)
    scratch = AutoencoderClassifier(
        Autoencoder(n_components=16), pretrain=False, max_iter=100, random_state=0
    ).fit(X_train, y_semi)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    probe.fit(codes_train[keep], y_train[keep])
    svc = SVC().fit(pca.transform(X_train[keep]), y_train[keep])
    scores["fine-tuned + VAT"].append(smooth.score(X_test, y_test))
    scores["fine-tuned"].append(fine_tuned.score(X_test, y_test))
    scores["same network, from scratch"].append(scratch.score(X_test, y_test))
    scores["frozen code + LR"].append(probe.score(codes_test, y_test))
    scores["PCA + SVC"].append(svc.score(pca.transform(X_test), y_test))

for method, values in scores.items():
    print(f"{method:28s}", " ".join(f"{v:.3f}" for v in values))

fig, ax = plt.subplots(figsize=(6, 4))
for method, values in scores.items():
    ax.plot(n_labels, values, marker="o", label=method)
ax.set_xscale("log")
ax.set_xticks(n_labels, [str(n) for n in n_labels])
ax.set_xlabel("labelled training rows (of 1,347; the rest unlabelled)")
ax.set_ylabel("test accuracy")
ax.set_title("Digits: pretrain on every row, fine-tune on a few labels")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# How to read the curves: the fine-tuned network starts as a logistic
# regression on the frozen code, much like the one plotted (its output layer
# starts at such a linear probe, fitted to the same labelled rows), so the
# gap between those two curves is about what fine-tuning the encoder added. The network trained from
# scratch has the same layers and the same fine-tuning, without the
# pretraining on the unlabelled rows: the gap to it is what those rows
# brought. PCA followed by an RBF SVC is the classical baseline, strong on
# data this small and this close to linear. ``benchmarks/fine_tuning.py``
# makes the same comparison with several seeds, on MNIST and Fashion-MNIST
# too, where a deep pretrained encoder has more to offer.
