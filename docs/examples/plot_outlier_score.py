"""
========================================
Reconstruction error as an outlier score
========================================

An autoencoder reconstructs well the kind of rows it was trained on and
badly the rest, so the reconstruction error of a row is a score of how
unusual it is. ``score_samples`` returns minus the per-row error (higher is
more normal), as scikit-learn's outlier detectors do.

Here an :class:`~skae.Autoencoder` is trained on digits. The test set mixes
held-out digits with digits turned upside down: the same strokes and the
same amount of ink, just not where a digit has them. PCA's reconstruction
error with as many components is the baseline.
"""

# %%
# Train on normal digits, score a contaminated test set
# -----------------------------------------------------

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import RocCurveDisplay, roc_auc_score
from sklearn.model_selection import train_test_split

from skae import Autoencoder

X, y = load_digits(return_X_y=True)
X = X / 16
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

rng = np.random.default_rng(0)
picked = rng.choice(len(X_test), size=45, replace=False)
upside_down = X_test[picked].reshape(-1, 8, 8)[:, ::-1, :].reshape(-1, 64)

X_mixed = np.vstack([X_test, upside_down])
is_outlier = np.r_[np.zeros(len(X_test), dtype=bool), np.ones(len(upside_down), dtype=bool)]
digit = np.r_[y_test, y_test[picked]]

ae = Autoencoder(n_components=8, max_iter=100, random_state=0)
with warnings.catch_warnings():
    # 100 epochs is a time budget, not convergence.
    warnings.simplefilter("ignore", ConvergenceWarning)
    ae.fit(X_train)
pca = PCA(n_components=8).fit(X_train)

scores = {
    "Autoencoder": ae.score_samples(X_mixed),
    # The same score for PCA: minus the mean squared reconstruction error.
    "PCA": -np.mean((pca.inverse_transform(pca.transform(X_mixed)) - X_mixed) ** 2, axis=1),
}
for name, score in scores.items():
    # roc_auc_score wants larger values for the positive class (outliers).
    print(f"{name:12s} ROC AUC of the outlier score: {roc_auc_score(is_outlier, -score):.3f}")

# %%
# ROC curves and the rows that look least like digits
# ---------------------------------------------------

fig = plt.figure(figsize=(11, 4.6))
grid = fig.add_gridspec(3, 8, width_ratios=[1.6, 1.6, 1.6, 0.3, 1, 1, 1, 1])
ax_roc = fig.add_subplot(grid[:, :3])
for name, score in scores.items():
    RocCurveDisplay.from_predictions(is_outlier, -score, name=name, ax=ax_roc)
ax_roc.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
ax_roc.set_title("Upside-down digits among 450 test digits")

lowest = np.argsort(scores["Autoencoder"])[:12]
for i, row in enumerate(lowest):
    ax = fig.add_subplot(grid[i // 4, 4 + i % 4])
    ax.imshow(X_mixed[row].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    kind = "flipped" if is_outlier[row] else "normal"
    ax.set_title(f"{kind} {digit[row]}", fontsize=8, color="C3" if is_outlier[row] else "k")
    ax.set_axis_off()
fig.text(0.74, 0.96, "The 12 lowest autoencoder scores", ha="center")
fig.subplots_adjust(left=0.06, right=0.98, bottom=0.1, top=0.88, wspace=0.25, hspace=0.45)
plt.show()

# %%
# The rows the autoencoder scores lowest are all flipped digits, and its
# score ranks the outliers above the normal digits more often than PCA's
# does. Neither reaches a perfect score, for a good reason: an upside-down
# 0, 1, 3 or 8 is still a plausible digit. The flipped digits that score as
# normal are mostly those:
missed = is_outlier & (scores["Autoencoder"] > np.quantile(scores["Autoencoder"][~is_outlier], 0.1))
print("flipped digits scoring above the 10 % quantile of normal digits:", np.sort(digit[missed]))

# %%
# To turn the score into a decision, pick a threshold on the scores of
# normal training rows, for example their 1 % quantile, as
# :class:`~sklearn.covariance.EllipticEnvelope` does with ``contamination``.
