"""
=================================================
Outlier detection on digits: typical and atypical
=================================================

:class:`~skae.AutoencoderOutlierDetector` fits an autoencoder on the training
rows and scores each row by how well it fits the model: its reconstruction
error and how unusual its code is (``score_samples``, higher is more
normal). Here it is fitted on the digits, all classes together, and ranks
the held-out digits: the most typical ones are plain, well-centred strokes,
the least typical ones are the odd shapes a human would also look at twice.

Digits turned upside down are then mixed into the test rows as known
outliers, to compare the detector's scores (the default one, the
reconstruction error alone and the energy of a tied autoencoder, see
:ref:`energy`) with scikit-learn's :class:`~sklearn.ensemble.IsolationForest`.
"""

# %%
# Fit on the training digits, score the test digits
# --------------------------------------------------

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from skae import AutoencoderOutlierDetector

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X = X / 16
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

detector = AutoencoderOutlierDetector(random_state=0).fit(X_train)
scores = detector.score_samples(X_test)
print(f"code width: {detector.autoencoder_.n_components} (70 % of the variance)")
print(f"test digits flagged as outliers: {(detector.predict(X_test) == -1).sum()}")

# %%
# The most and the least typical test digits
# ------------------------------------------

order = np.argsort(scores)
rows = {"most typical": order[::-1][:10], "least typical": order[:10]}
fig, axes = plt.subplots(2, 10, figsize=(10, 2.6))
for ax_row, (title, picked) in zip(axes, rows.items(), strict=True):
    for ax, i in zip(ax_row, picked, strict=True):
        ax.imshow(X_test[i].reshape(8, 8), cmap="gray_r")
        ax.set_title(f"{y_test[i]}: {scores[i]:.1f}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    ax_row[0].set_ylabel(title, fontsize=8)
fig.suptitle("Test digits by score_samples (label: score)")
fig.tight_layout()
plt.show()

# %%
# Known outliers: upside-down digits
# ----------------------------------
#
# The same strokes and the same amount of ink, just not where a digit has
# them. Each detector is fitted on the training digits; the ROC AUC says how
# well its score ranks the upside-down digits below the held-out ones.

rng = np.random.default_rng(0)
picked = rng.choice(len(X_test), size=45, replace=False)
upside_down = X_test[picked].reshape(-1, 8, 8)[:, ::-1, :].reshape(-1, 64)
X_mixed = np.vstack([X_test, upside_down])
is_outlier = np.r_[np.zeros(len(X_test)), np.ones(len(upside_down))]

detectors = {
    "default (reconstruction+code)": detector,
    "reconstruction": AutoencoderOutlierDetector(score_type="reconstruction", random_state=0),
    "energy (tied, linear code)": AutoencoderOutlierDetector(score_type="energy", random_state=0),
    "IsolationForest": IsolationForest(random_state=0),
}
aucs = {}
for name, model in detectors.items():
    if model is not detector:
        model.fit(X_train)
    aucs[name] = roc_auc_score(is_outlier, -model.score_samples(X_mixed))
    print(f"{name:>30}: ROC AUC {aucs[name]:.3f}")

fig, ax = plt.subplots(figsize=(6, 2.5))
ax.barh(list(aucs), list(aucs.values()))
ax.set_xlim(0.5, 1.0)
ax.set_xlabel("ROC AUC, upside-down digits against held-out ones")
fig.tight_layout()
plt.show()
